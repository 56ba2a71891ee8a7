using System.Net;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Verification;

/// <summary>A sweep's walks share one probe cache: an object two walks ask for at the same moment costs one request.</summary>
public sealed class Sharing_a_probe_cache
{
    private static readonly string Layer = "sha256:" + new string('a', 64);

    [Fact]
    public async Task Two_walks_asking_for_the_same_blob_at_the_same_moment_send_one_request()
    {
        using var registry = new RegistryHoldingTheFirstRequest();
        using var http = new HttpClient(registry) { BaseAddress = new Uri("http://registry.invalid/") };
        var options = Options.Create(new RegistryOptions { BaseUrl = http.BaseAddress, BlobCheck = BlobCheckMethod.Head });
        using var metrics = new VerifierMetricsRegistry();
        var probes = new RegistryProbeCache(new RegistryClient(http, options, new RegistryMetrics(metrics)), "team/app", TimeProvider.System);

        var results = await Task.WhenAll(
            Task.Run(() => probes.CheckBlobAsync(Layer, 10, CancellationToken.None)),
            Task.Run(() => probes.CheckBlobAsync(Layer, 10, CancellationToken.None)));

        Assert.All(results, r => Assert.Equal(ProbeOutcome.Present, r.Value.Outcome));
        Assert.Equal(1, registry.Requests);
    }

    /// <summary>
    /// Holds the first request (synchronously, where the cache's value factory runs) until a second
    /// request arrives or a second has passed: a cache that lets two callers start the same request
    /// shows it every time, not only when the scheduler happens to interleave them.
    /// </summary>
    private sealed class RegistryHoldingTheFirstRequest : HttpMessageHandler
    {
        private readonly ManualResetEventSlim _second = new();
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _requests) == 1)
                _second.Wait(TimeSpan.FromSeconds(1), cancellationToken);
            else
                _second.Set();
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
            response.Content.Headers.ContentLength = 10;
            response.Headers.Add("Docker-Distribution-API-Version", "registry/2.0");
            return Task.FromResult(response);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _second.Dispose();
            base.Dispose(disposing);
        }
    }
}
