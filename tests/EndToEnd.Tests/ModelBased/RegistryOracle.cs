using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace RegistryIntegrity.EndToEnd.Tests.ModelBased;

/// <summary>What a full pull of a manifest finds: present and whole, or the digests it cannot get.</summary>
public sealed record Truth(bool RootGone, IReadOnlySet<string> Missing)
{
    public string Result => RootGone ? "gone" : Missing.Count > 0 ? "broken" : "healthy";
}

/// <summary>
/// The test's own idea of the truth, written without the product's code: pull every manifest by digest,
/// descend into index children, and download every config and layer in full, checking its digest (so a
/// blob that the registry's cache still claims after its data went is missing, as for a real pull).
/// </summary>
public sealed class RegistryOracle(Uri registry) : IDisposable
{
    private static readonly string[] ManifestTypes =
    [
        "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
    ];

    private readonly HttpClient _http = new() { BaseAddress = registry, Timeout = TimeSpan.FromSeconds(30) };
    private readonly Dictionary<(string, string), bool> _blobs = [];
    private readonly Dictionary<(string, string), JsonDocument?> _manifests = [];

    /// <summary>Answers are cached for one check: the registry does not change while the oracle looks.</summary>
    public void Forget()
    {
        _blobs.Clear();
        _manifests.Clear();
    }

    public async Task<Truth> PullAsync(string repository, string digest)
    {
        var missing = new HashSet<string>(StringComparer.Ordinal);
        var root = await GetManifestAsync(repository, digest);
        if (root is null)
            return new Truth(true, missing);
        await DescendAsync(repository, root, missing, depth: 0);
        return new Truth(false, missing);
    }

    /// <summary>Tags the registry lists whose manifest it cannot serve.</summary>
    public async Task<IReadOnlySet<string>> DanglingTagsAsync(string repository)
    {
        var dangling = new HashSet<string>(StringComparer.Ordinal);
        using var response = await _http.GetAsync($"v2/{repository}/tags/list");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return dangling;
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        if (body.RootElement.GetProperty("tags") is not { ValueKind: JsonValueKind.Array } tags)
            return dangling;
        foreach (var tag in tags.EnumerateArray().Select(t => t.GetString()!))
        {
            // What `docker pull repo:tag` does: resolve the tag, then fetch that manifest.
            using var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/manifests/{tag}");
            foreach (var type in ManifestTypes)
                head.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            using var answer = await _http.SendAsync(head);
            if (answer.StatusCode == HttpStatusCode.NotFound)
            {
                dangling.Add(tag);
                continue;
            }
            answer.EnsureSuccessStatusCode();
            var digest = answer.Headers.GetValues("Docker-Content-Digest").Single();
            if (await GetManifestAsync(repository, digest) is null)
                dangling.Add(tag);
        }
        return dangling;
    }

    private async Task DescendAsync(string repository, JsonDocument manifest, HashSet<string> missing, int depth)
    {
        var root = manifest.RootElement;
        if (root.TryGetProperty("manifests", out var children))
        {
            foreach (var child in children.EnumerateArray().Select(c => c.GetProperty("digest").GetString()!))
            {
                var document = await GetManifestAsync(repository, child);
                if (document is null)
                    missing.Add(child);
                else if (depth < 8)
                    await DescendAsync(repository, document, missing, depth + 1);
            }
        }
        var blobs = new List<JsonElement>();
        if (root.TryGetProperty("config", out var config))
            blobs.Add(config);
        if (root.TryGetProperty("layers", out var layers))
            blobs.AddRange(layers.EnumerateArray());
        foreach (var blob in blobs.Where(b => !b.TryGetProperty("urls", out _)))
        {
            var digest = blob.GetProperty("digest").GetString()!;
            if (!await HasBlobAsync(repository, digest))
                missing.Add(digest);
        }
    }

    private async Task<JsonDocument?> GetManifestAsync(string repository, string digest)
    {
        if (_manifests.TryGetValue((repository, digest), out var cached))
            return cached;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/manifests/{digest}");
        foreach (var type in ManifestTypes)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        JsonDocument? document = null;
        if (response.StatusCode != HttpStatusCode.NotFound)
        {
            response.EnsureSuccessStatusCode();
            byte[] bytes;
            try
            {
                bytes = await response.Content.ReadAsByteArrayAsync();
            }
            catch (HttpRequestException)
            {
                bytes = []; // claimed, then not sent: its data is gone, a pull fails
            }
            document = bytes.Length == 0 ? null
                : Sha256(bytes) == digest ? JsonDocument.Parse(bytes) : throw new InvalidOperationException($"{digest}: the registry served other bytes");
        }
        return _manifests[(repository, digest)] = document;
    }

    private async Task<bool> HasBlobAsync(string repository, string digest)
    {
        if (_blobs.TryGetValue((repository, digest), out var known))
            return known;
        using var response = await _http.GetAsync($"v2/{repository}/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead);
        bool present;
        if (response.StatusCode == HttpStatusCode.NotFound)
            present = false;
        else
        {
            response.EnsureSuccessStatusCode();
            try
            {
                present = Sha256(await response.Content.ReadAsByteArrayAsync()) == digest;
            }
            catch (HttpRequestException)
            {
                present = false; // the registry claims the blob and ends the body early: its data is gone
            }
        }
        return _blobs[(repository, digest)] = present;
    }

    private static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    public void Dispose() => _http.Dispose();
}
