using System.Diagnostics;
using System.Net.Http.Headers;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Benchmarks.Sweep;

/// <summary>One registry request of the kinds a sweep sends.</summary>
internal sealed record RegistryRequest(string Kind, HttpMethod Method, string Path)
{
    public HttpRequestMessage ToMessage()
    {
        var message = new HttpRequestMessage(Method, Path);
        if (Kind is "manifest" or "manifest_head")
        {
            foreach (var mediaType in MediaTypes.AllManifests)
                message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        }
        if (Kind == "blob_get")
            message.Headers.Range = new RangeHeaderValue(0, 0);
        return message;
    }
}

internal sealed record LoadResult(long Requests, long Failures, TimeSpan Elapsed)
{
    public double PerSecond => Requests / Elapsed.TotalSeconds;
}

internal static class RegistryLoad
{
    /// <summary>
    /// Every request one complete sweep of <paramref name="catalog"/> needs, each once: the catalog page,
    /// per repository its tag list, a HEAD per tag, a GET per distinct manifest (Accept list) and a
    /// ranged GET per distinct blob. Kinds are named as in the Verifier's registry_requests_total.
    /// </summary>
    public static List<RegistryRequest> SweepRequests(IReadOnlyList<GeneratedRepository> catalog, int catalogPageSize)
    {
        var requests = new List<RegistryRequest> { new("catalog", HttpMethod.Get, $"/v2/_catalog?n={catalogPageSize}") };
        foreach (var repository in catalog)
        {
            requests.Add(new("tags", HttpMethod.Get, $"/v2/{repository.Name}/tags/list"));
            requests.AddRange(repository.Tags.Keys.Select(tag => new RegistryRequest("manifest_head", HttpMethod.Head, $"/v2/{repository.Name}/manifests/{tag}")));
            requests.AddRange(repository.ManifestDigests.Select(d => new RegistryRequest("manifest", HttpMethod.Get, $"/v2/{repository.Name}/manifests/{d}")));
            requests.AddRange(repository.BlobDigests.Select(d => new RegistryRequest("blob_get", HttpMethod.Get, $"/v2/{repository.Name}/blobs/{d}")));
        }
        return requests;
    }

    /// <summary>
    /// The registry's ceiling for a request mix: <paramref name="connections"/> workers send the requests
    /// (shuffled, repeated as needed) back to back for <paramref name="duration"/>, reading every body.
    /// </summary>
    public static async Task<LoadResult> RunAsync(Uri registry, IReadOnlyList<RegistryRequest> mix, int connections, TimeSpan duration)
    {
        var requests = mix.ToArray();
        new Random(7).Shuffle(requests);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections };
        using var http = new HttpClient(handler) { BaseAddress = registry, Timeout = TimeSpan.FromSeconds(30) };
        long next = -1, completed = 0, failures = 0;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            while (stopwatch.Elapsed < duration)
            {
                var request = requests[Interlocked.Increment(ref next) % requests.Length];
                using var message = request.ToMessage();
                using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
                await response.Content.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref completed);
                if (!response.IsSuccessStatusCode)
                    Interlocked.Increment(ref failures);
            }
        })));
        return new LoadResult(completed, failures, stopwatch.Elapsed);
    }
}
