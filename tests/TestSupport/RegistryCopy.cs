using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace RegistryIntegrity.TestSupport;

/// <summary>A manifest tree as raw registry API calls see it: every manifest (digest -> media type) and every blob (digest -> size).</summary>
public sealed record ImageTree(IReadOnlyDictionary<string, string> Manifests, IReadOnlyDictionary<string, long> Blobs);

/// <summary>
/// Plain registry API v2 over HttpClient, independent of the product's code: a raw copy of an image tree from one
/// registry to another (blobs streamed, manifests by digest with their bytes), and an independent pull that walks
/// a tree and downloads every object, checking each against its digest.
/// </summary>
public sealed class RegistryCopy : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(120) };

    /// <param name="authorization">Sent with every request to both registries, e.g. a bearer token both accept.</param>
    public RegistryCopy(AuthenticationHeaderValue? authorization = null) => _http.DefaultRequestHeaders.Authorization = authorization;

    public void Dispose() => _http.Dispose();

    /// <summary>Copies the tree under <paramref name="digest"/> from <paramref name="from"/> to <paramref name="to"/>, blobs first, children before parents.</summary>
    /// <param name="toRepository">The repository it goes to in <paramref name="to"/>; the same name when null.</param>
    public async Task<(int Objects, long Bytes)> CopyAsync(Uri from, Uri to, string repository, string digest, string? tag = null, string? toRepository = null)
    {
        toRepository ??= repository;
        var tree = await ReadTreeAsync(from, repository, digest);
        long bytes = 0;
        foreach (var (blob, _) in tree.Blobs)
            bytes += await CopyBlobAsync(from, to, repository, toRepository, blob);
        // Children were added to the tree before their parents' descriptors were read, so reverse discovery order puts them first.
        foreach (var (manifest, mediaType) in tree.Manifests.Reverse())
        {
            var body = await GetManifestAsync(from, repository, manifest);
            bytes += body.Length;
            await PutManifestAsync(to, toRepository, manifest == digest && tag is not null ? tag : manifest, mediaType, body);
        }
        return (tree.Manifests.Count + tree.Blobs.Count, bytes);
    }

    /// <summary>Every manifest and blob under <paramref name="digest"/> (manifests in discovery order: the root first).</summary>
    public async Task<ImageTree> ReadTreeAsync(Uri registry, string repository, string digest)
    {
        var manifests = new Dictionary<string, string>();
        var blobs = new Dictionary<string, long>();
        var pending = new Queue<string>([digest]);
        while (pending.TryDequeue(out var next))
        {
            if (manifests.ContainsKey(next))
                continue;
            var (body, mediaType) = await GetManifestWithTypeAsync(registry, repository, next);
            manifests[next] = mediaType;
            var root = JsonNode.Parse(body)!.AsObject();
            foreach (var child in root["manifests"]?.AsArray() ?? [])
                pending.Enqueue((string)child!["digest"]!);
            if (root["config"] is JsonObject config)
                blobs[(string)config["digest"]!] = (long)config["size"]!;
            foreach (var layer in root["layers"]?.AsArray() ?? [])
            {
                if (layer!["urls"] is null)
                    blobs[(string)layer["digest"]!] = (long)layer["size"]!;
            }
        }
        return new ImageTree(manifests, blobs);
    }

    /// <summary>
    /// Pulls <paramref name="reference"/> (tag or digest) whole: every manifest and every blob downloaded and hashed.
    /// Returns each problem found (empty: the image can be pulled).
    /// </summary>
    public async Task<IReadOnlyList<string>> PullAsync(Uri registry, string repository, string reference)
    {
        var problems = new List<string>();
        var pending = new Queue<(string Reference, long? Size)>([(reference, null)]);
        var seen = new HashSet<string>();
        while (pending.TryDequeue(out var item))
        {
            if (!seen.Add(item.Reference))
                continue;
            using var request = ManifestRequest(registry, repository, item.Reference);
            using var response = await _http.SendAsync(request);
            if (!response.IsSuccessStatusCode)
            {
                problems.Add($"manifest {item.Reference}: {(int)response.StatusCode}");
                continue;
            }
            var body = await response.Content.ReadAsByteArrayAsync();
            var digest = item.Reference.StartsWith("sha256:", StringComparison.Ordinal) ? item.Reference : response.Headers.GetValues("Docker-Content-Digest").Single();
            if (Digest(body) != digest || (item.Size is { } size && size != body.Length))
                problems.Add($"manifest {item.Reference}: bytes do not match the digest or size");
            var root = JsonNode.Parse(body)!.AsObject();
            foreach (var child in root["manifests"]?.AsArray() ?? [])
                pending.Enqueue(((string)child!["digest"]!, (long)child["size"]!));
            var blobs = new List<JsonNode>();
            if (root["config"] is JsonObject config)
                blobs.Add(config);
            blobs.AddRange((root["layers"]?.AsArray() ?? []).Where(l => l!["urls"] is null)!);
            foreach (var blob in blobs)
            {
                var blobDigest = (string)blob["digest"]!;
                if (!seen.Add(blobDigest))
                    continue;
                using var get = await _http.GetAsync(new Uri(registry, $"/v2/{repository}/blobs/{blobDigest}"), HttpCompletionOption.ResponseHeadersRead);
                if (!get.IsSuccessStatusCode)
                {
                    problems.Add($"blob {blobDigest}: {(int)get.StatusCode}");
                    continue;
                }
                await using var stream = await get.Content.ReadAsStreamAsync();
                using var sha = SHA256.Create();
                var length = await HashAsync(stream, sha);
                if ("sha256:" + Convert.ToHexStringLower(sha.Hash!) != blobDigest || length != (long)blob["size"]!)
                    problems.Add($"blob {blobDigest}: {length} bytes that do not match the digest or size");
            }
        }
        return problems;
    }

    private static async Task<long> HashAsync(Stream stream, HashAlgorithm hash)
    {
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            hash.TransformBlock(buffer, 0, read, null, 0);
            total += read;
        }
        hash.TransformFinalBlock([], 0, 0);
        return total;
    }

    private async Task<long> CopyBlobAsync(Uri from, Uri to, string repository, string toRepository, string digest)
    {
        using var get = await _http.GetAsync(new Uri(from, $"/v2/{repository}/blobs/{digest}"), HttpCompletionOption.ResponseHeadersRead);
        get.EnsureSuccessStatusCode();
        var length = get.Content.Headers.ContentLength!.Value;
        using var start = await _http.PostAsync(new Uri(to, $"/v2/{toRepository}/blobs/uploads/"), null);
        if (start.StatusCode != HttpStatusCode.Accepted)
            throw new InvalidOperationException($"upload start answered {(int)start.StatusCode}");
        var location = start.Headers.Location!.IsAbsoluteUri ? start.Headers.Location : new Uri(to, start.Headers.Location);
        var put = new Uri(location.AbsoluteUri + (string.IsNullOrEmpty(location.Query) ? "?" : "&") + "digest=" + Uri.EscapeDataString(digest));
        await using var body = await get.Content.ReadAsStreamAsync();
        using var content = new StreamContent(body);
        content.Headers.ContentLength = length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var done = await _http.PutAsync(put, content);
        if (done.StatusCode != HttpStatusCode.Created)
            throw new InvalidOperationException($"blob upload answered {(int)done.StatusCode}");
        return length;
    }

    private async Task<byte[]> GetManifestAsync(Uri registry, string repository, string digest) =>
        (await GetManifestWithTypeAsync(registry, repository, digest)).Body;

    private async Task<(byte[] Body, string MediaType)> GetManifestWithTypeAsync(Uri registry, string repository, string digest)
    {
        using var request = ManifestRequest(registry, repository, digest);
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsByteArrayAsync(), response.Content.Headers.ContentType!.MediaType!);
    }

    private async Task PutManifestAsync(Uri registry, string repository, string reference, string mediaType, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await _http.PutAsync(new Uri(registry, $"/v2/{repository}/manifests/{reference}"), content);
        if (response.StatusCode != HttpStatusCode.Created)
            throw new InvalidOperationException($"manifest PUT answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static HttpRequestMessage ManifestRequest(Uri registry, string repository, string reference)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(registry, $"/v2/{repository}/manifests/{reference}"));
        foreach (var type in MediaTypes.AllManifests)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        return request;
    }

    private static string Digest(byte[] body) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
}
