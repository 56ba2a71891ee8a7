using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace RegistryIntegrity.TestSupport;

public sealed record Descriptor(string MediaType, string Digest, long Size);

/// <param name="Platform">"os/architecture[/variant]"; "unknown/unknown" for an attestation manifest.</param>
public sealed record PushedImage(
    string Repository,
    string Digest,
    string? Tag,
    string ConfigDigest,
    IReadOnlyList<string> LayerDigests,
    string MediaType,
    string Platform = "linux/amd64");

/// <param name="Children">The platform images in the order asked for, then their attestation manifests in the same order.</param>
public sealed record PushedIndex(string Repository, string Digest, string? Tag, IReadOnlyList<PushedImage> Children)
{
    /// <summary>The index's length in bytes, as a descriptor of it states.</summary>
    public long Size { get; init; }
}

public static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string InToto = "application/vnd.in-toto+json";
    public const string OctetStream = "application/octet-stream";

    /// <summary>The Accept header a manifest GET needs: without the OCI types 2.8 answers 404 for OCI manifests.</summary>
    public static readonly IReadOnlyList<string> AllManifests = [OciIndex, OciManifest, DockerManifestList, DockerManifest];
}

/// <summary>Pushes images to a distribution registry through the HTTP API v2 alone.</summary>
public sealed class RegistryPusher : IDisposable
{
    private readonly HttpClient _http;

    public RegistryPusher(Uri registryUri, string? username = null, string? password = null)
        : this(registryUri, username is null ? null : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"))))
    {
    }

    /// <param name="authorization">Sent with every request, e.g. a bearer token for a token-auth registry.</param>
    public RegistryPusher(Uri registryUri, AuthenticationHeaderValue? authorization)
    {
        _http = new HttpClient { BaseAddress = registryUri, Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = authorization;
    }

    public static string ComputeDigest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public async Task<Descriptor> PushBlobAsync(string repository, byte[] content, string mediaType = MediaTypes.OctetStream)
    {
        var digest = ComputeDigest(content);
        using var start = await SendAsync(HttpMethod.Post, Api($"/v2/{repository}/blobs/uploads/"), null, HttpStatusCode.Accepted);
        var uploadUri = UploadLocation(start);

        var separator = string.IsNullOrEmpty(uploadUri.Query) ? "?" : "&";
        var finishUri = new Uri(uploadUri.AbsoluteUri + separator + "digest=" + Uri.EscapeDataString(digest));
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OctetStream);
        using var finish = await SendAsync(HttpMethod.Put, finishUri, body, HttpStatusCode.Created);
        return new Descriptor(mediaType, digest, content.Length);
    }

    public Task<Descriptor> PushRandomBlobAsync(string repository, int size, string mediaType = MediaTypes.OctetStream) =>
        PushBlobAsync(repository, RandomNumberGenerator.GetBytes(size), mediaType);

    /// <param name="reference">A tag, or the manifest's digest to push it untagged.</param>
    public async Task<string> PushManifestAsync(string repository, string reference, string mediaType, byte[] body)
    {
        var digest = ComputeDigest(body);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await SendAsync(HttpMethod.Put, Api($"/v2/{repository}/manifests/{reference}"), content, HttpStatusCode.Created);

        if (response.Headers.TryGetValues("Docker-Content-Digest", out var answered) && answered.Single() != digest)
        {
            throw new InvalidOperationException($"Registry computed {answered.Single()} for a manifest whose bytes hash to {digest}.");
        }

        return digest;
    }

    /// <summary>Points <paramref name="tag"/> at a manifest already in the repository (GET by digest, PUT by tag).</summary>
    public async Task TagAsync(string repository, string digest, string mediaType, string tag) =>
        await PushManifestAsync(repository, tag, mediaType, await GetManifestBytesAsync(repository, digest, mediaType));

    /// <summary>A manifest's exact bytes, to push them again later.</summary>
    public async Task<byte[]> GetManifestBytesAsync(string repository, string digest, string mediaType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Api($"/v2/{repository}/manifests/{digest}"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <param name="tag">Null pushes the manifest by digest, untagged.</param>
    /// <param name="platform">"os/architecture[/variant]", written into the config blob.</param>
    public async Task<PushedImage> PushImageAsync(
        string repository,
        string? tag = null,
        int layers = 2,
        int layerSize = 1024,
        bool ociMediaTypes = true,
        string platform = "linux/amd64")
    {
        var (image, _) = await PushImageWithManifestAsync(repository, tag, layers, layerSize, ociMediaTypes, platform);
        return image;
    }

    /// <param name="platforms">Each "os/architecture[/variant]"; defaults to linux/amd64 and linux/arm64.</param>
    /// <param name="withAttestation">Adds a BuildKit-style attestation manifest (platform unknown/unknown) per image.</param>
    /// <param name="oci">An OCI image index of OCI images, or else a Docker manifest list of schema2 images.</param>
    public async Task<PushedIndex> PushIndexAsync(
        string repository,
        string? tag,
        IReadOnlyList<string>? platforms = null,
        bool withAttestation = true,
        bool oci = true)
    {
        platforms ??= ["linux/amd64", "linux/arm64"];
        var children = new List<PushedImage>();
        var entries = new JsonArray();

        foreach (var platform in platforms)
        {
            var (image, manifest) = await PushImageWithManifestAsync(repository, null, layers: 2, layerSize: 1024, oci, platform);
            children.Add(image);
            entries.Add(IndexEntry(manifest, image.Platform, annotations: null));
        }

        if (withAttestation)
        {
            foreach (var image in children.ToList())
            {
                var (attestation, manifest) = await PushAttestationAsync(repository, image);
                children.Add(attestation);
                entries.Add(IndexEntry(manifest, attestation.Platform, new Dictionary<string, string>
                {
                    ["vnd.docker.reference.digest"] = image.Digest,
                    ["vnd.docker.reference.type"] = "attestation-manifest",
                }));
            }
        }

        var mediaType = oci ? MediaTypes.OciIndex : MediaTypes.DockerManifestList;
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = mediaType,
            ["manifests"] = entries,
        };
        var body = Utf8(index);
        var digest = await PushManifestAsync(repository, tag ?? ComputeDigest(body), mediaType, body);
        return new PushedIndex(repository, digest, tag, children) { Size = body.Length };
    }

    public async Task DeleteManifestAsync(string repository, string digest)
    {
        using var response = await SendAsync(HttpMethod.Delete, Api($"/v2/{repository}/manifests/{digest}"), null, HttpStatusCode.Accepted);
    }

    public async Task DeleteBlobAsync(string repository, string digest)
    {
        using var response = await SendAsync(HttpMethod.Delete, Api($"/v2/{repository}/blobs/{digest}"), null, HttpStatusCode.Accepted);
    }

    /// <returns>False when the registry could not mount (the blob is unknown in <paramref name="fromRepository"/>).</returns>
    public async Task<bool> MountBlobAsync(string toRepository, string fromRepository, string digest)
    {
        var path = $"/v2/{toRepository}/blobs/uploads/?mount={Uri.EscapeDataString(digest)}&from={Uri.EscapeDataString(fromRepository)}";
        using var response = await SendAsync(HttpMethod.Post, Api(path), null, HttpStatusCode.Created, HttpStatusCode.Accepted);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return true;
        }

        // Instead of mounting, the registry opened an ordinary upload: cancel it.
        using var cancel = await SendAsync(HttpMethod.Delete, UploadLocation(response), null, HttpStatusCode.NoContent);
        return false;
    }

    public void Dispose() => _http.Dispose();

    private async Task<(PushedImage Image, Descriptor Manifest)> PushImageWithManifestAsync(
        string repository, string? tag, int layers, int layerSize, bool ociMediaTypes, string platform)
    {
        var layerMediaType = ociMediaTypes ? MediaTypes.OciLayer : MediaTypes.DockerLayer;
        var layerDescriptors = new List<Descriptor>();
        for (var i = 0; i < layers; i++)
        {
            layerDescriptors.Add(await PushRandomBlobAsync(repository, layerSize, layerMediaType));
        }

        var (os, architecture, variant) = ParsePlatform(platform);
        var config = new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = os,
            ["created"] = DateTimeOffset.UtcNow.ToString("O"),
            ["config"] = new JsonObject(),
            ["rootfs"] = new JsonObject
            {
                ["type"] = "layers",
                ["diff_ids"] = new JsonArray([.. layerDescriptors.Select(l => JsonValue.Create(l.Digest))]),
            },
        };
        if (variant is not null)
        {
            config["variant"] = variant;
        }

        var configMediaType = ociMediaTypes ? MediaTypes.OciConfig : MediaTypes.DockerConfig;
        var configDescriptor = await PushBlobAsync(repository, Utf8(config), configMediaType);

        var manifestMediaType = ociMediaTypes ? MediaTypes.OciManifest : MediaTypes.DockerManifest;
        return await PushImageManifestAsync(repository, tag, manifestMediaType, configDescriptor, layerDescriptors, platform, null);
    }

    private async Task<(PushedImage Image, Descriptor Manifest)> PushAttestationAsync(string repository, PushedImage subject)
    {
        var statement = new JsonObject
        {
            ["_type"] = "https://in-toto.io/Statement/v0.1",
            ["predicateType"] = "https://spdx.dev/Document",
            ["subject"] = new JsonArray(new JsonObject
            {
                ["name"] = "pkg:docker/" + repository,
                ["digest"] = new JsonObject { ["sha256"] = subject.Digest["sha256:".Length..] },
            }),
            ["predicate"] = new JsonObject { ["spdxVersion"] = "SPDX-2.3" },
        };
        var layer = await PushBlobAsync(repository, Utf8(statement), MediaTypes.InToto);

        var config = new JsonObject
        {
            ["architecture"] = "unknown",
            ["os"] = "unknown",
            ["config"] = new JsonObject(),
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(layer.Digest) },
        };
        var configDescriptor = await PushBlobAsync(repository, Utf8(config), MediaTypes.OciConfig);

        var layerAnnotations = new Dictionary<string, string> { ["in-toto.io/predicate-type"] = "https://spdx.dev/Document" };
        return await PushImageManifestAsync(
            repository, tag: null, MediaTypes.OciManifest, configDescriptor, [layer], "unknown/unknown", layerAnnotations);
    }

    private async Task<(PushedImage Image, Descriptor Manifest)> PushImageManifestAsync(
        string repository,
        string? tag,
        string mediaType,
        Descriptor config,
        IReadOnlyList<Descriptor> layers,
        string platform,
        IReadOnlyDictionary<string, string>? annotations)
    {
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = mediaType,
            ["config"] = ToJson(config, annotations: null),
            ["layers"] = new JsonArray([.. layers.Select(l => ToJson(l, annotations))]),
        };
        var body = Utf8(manifest);
        var digest = await PushManifestAsync(repository, tag ?? ComputeDigest(body), mediaType, body);
        var image = new PushedImage(repository, digest, tag, config.Digest, [.. layers.Select(l => l.Digest)], mediaType, platform);
        return (image, new Descriptor(mediaType, digest, body.Length));
    }

    private static JsonObject IndexEntry(Descriptor manifest, string platform, IReadOnlyDictionary<string, string>? annotations)
    {
        var entry = ToJson(manifest, annotations);
        var (os, architecture, variant) = ParsePlatform(platform);
        entry["platform"] = variant is null
            ? new JsonObject { ["architecture"] = architecture, ["os"] = os }
            : new JsonObject { ["architecture"] = architecture, ["os"] = os, ["variant"] = variant };
        return entry;
    }

    private static JsonObject ToJson(Descriptor descriptor, IReadOnlyDictionary<string, string>? annotations)
    {
        var json = new JsonObject
        {
            ["mediaType"] = descriptor.MediaType,
            ["digest"] = descriptor.Digest,
            ["size"] = descriptor.Size,
        };
        if (annotations is not null)
        {
            var annotationsJson = new JsonObject();
            foreach (var (key, value) in annotations)
            {
                annotationsJson[key] = value;
            }

            json["annotations"] = annotationsJson;
        }

        return json;
    }

    private static (string Os, string Architecture, string? Variant) ParsePlatform(string platform)
    {
        var parts = platform.Split('/');
        return parts.Length switch
        {
            2 => (parts[0], parts[1], null),
            3 => (parts[0], parts[1], parts[2]),
            _ => throw new ArgumentException($"Expected os/architecture[/variant], got '{platform}'.", nameof(platform)),
        };
    }

    private static byte[] Utf8(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    private Uri UploadLocation(HttpResponseMessage response)
    {
        var location = response.Headers.Location
            ?? throw new InvalidOperationException($"{response.RequestMessage?.RequestUri} answered without a Location header.");
        return location.IsAbsoluteUri ? location : new Uri(_http.BaseAddress!, location);
    }

    // Relative to the base address, so a registry served under a path prefix (http.prefix) is reached under it.
    private static Uri Api(string path) => new(path.TrimStart('/'), UriKind.Relative);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, HttpContent? content, params HttpStatusCode[] expected)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        var response = await _http.SendAsync(request);
        try
        {
            await EnsureStatusAsync(request, response, expected);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task EnsureStatusAsync(HttpRequestMessage request, HttpResponseMessage response, HttpStatusCode[] expected)
    {
        if (expected.Contains(response.StatusCode))
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync();
        throw new HttpRequestException(
            $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode} {response.StatusCode}: {body}",
            inner: null,
            response.StatusCode);
    }
}
