using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;
using Xunit.Abstractions;

namespace RegistryIntegrity.Verifier.Tests.Registry;

/// <summary>
/// Whatever a registry or its token realm answers (any status, headers and body), the Verifier reaches
/// healthy, broken or indeterminate without an exception, and says broken only when the object was
/// answered 404, served without its bytes, or served at another size than its descriptor states.
/// A seeded fuzz: the answer to each request is drawn from (seed, case, request), so a failure replays.
/// </summary>
public sealed class Answering_anything(ITestOutputHelper output)
{
    private const string Repo = "team/app";
    private const int Cases = 4_000, Workers = 8, AtLeastFuzzedAnswers = 10_000;

    /// <summary>Fixed in CI; <c>FUZZ_SEED</c> explores others (a failure names its seed and case).</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var seed) ? seed : 20261128;

    [Fact]
    public async Task Ten_thousand_random_answers_give_a_verdict_every_time_and_broken_only_on_evidence()
    {
        var exceptions = new ConcurrentBag<string>();
        var unfounded = new ConcurrentBag<string>();
        var results = new ConcurrentDictionary<VerdictResult, int>();
        var fuzzed = 0;

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            var registry = new FakeRegistry();
            var fuzz = new FuzzingAnswers(registry);
            // The circuit breaker would stop most requests from reaching the fuzzed registry at all.
            using var services = VerifierServices.Create(
                VerifierServices.Configuration(FakeRegistry.BaseUrl, ("Username", "ci"), ("Password", "fuzz-password-0123456789")), fuzz,
                configure: s => s.PostConfigureAll<HttpStandardResilienceOptions>(o => o.CircuitBreaker.MinimumThroughput = int.MaxValue));
            var walker = services.GetRequiredService<ManifestWalker>();
            var client = services.GetRequiredService<RegistryClient>();
            var index = registry.AddManifest(registry.Index(registry.AddManifest(registry.ImageManifest()), registry.AddManifest(registry.ImageManifest(layers: 3))));

            for (var @case = worker; @case < Cases; @case += Workers)
            {
                fuzz.Start(@case);
                try
                {
                    var walk = await walker.WalkAsync(Repo, index, default);
                    results.AddOrUpdate(walk.Result, 1, (_, n) => n + 1);
                    foreach (var missing in walk.Missing.Where(m => !fuzz.HasEvidence(m)))
                        unfounded.Add($"seed {Seed} case {@case}: {missing.Kind} {missing.Digest} {missing.StatusCode} {missing.ErrorCode}");
                    var (_, tag) = await client.ResolveTagAsync(Repo, "latest", default);
                    if (tag.Outcome == ProbeOutcome.Missing && !fuzz.Answered404("latest"))
                        unfounded.Add($"seed {Seed} case {@case}: tag latest missing without a 404");
                    await client.ListRepositoriesAsync(null, 100, default);
                    await client.ListTagsAsync(Repo, null, default);
                    await client.PingAsync(default);
                }
                catch (Exception e)
                {
                    exceptions.Add($"case {@case}: {e.GetType().Name}: {e.Message}");
                }
                Interlocked.Add(ref fuzzed, fuzz.FuzzedAnswers);
            }
        })));

        output.WriteLine($"seed {Seed}: {Cases} cases, {fuzzed} fuzzed answers; verdicts {string.Join(", ", results.OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value}"))}");
        Assert.True(fuzzed >= AtLeastFuzzedAnswers, $"only {fuzzed} answers were fuzzed");
        Assert.True(results.Count == 3, "every verdict should occur at least once; the fuzz is too narrow"); // guards the fuzz itself
        Assert.True(exceptions.IsEmpty, string.Join("\n", exceptions.Take(20)));
        Assert.True(unfounded.IsEmpty, string.Join("\n", unfounded.Take(20)));
    }

    /// <summary>Answers like the fake registry, or (half the time) with a random status, headers and body, and remembers the evidence it gave.</summary>
    private sealed class FuzzingAnswers(FakeRegistry registry) : DelegatingHandler(registry)
    {
        private readonly ConcurrentDictionary<string, int> _asked = new();
        private readonly ConcurrentDictionary<string, string> _evidence = new();
        private int _case, _fuzzed;

        public int FuzzedAnswers => _fuzzed;

        public void Start(int @case)
        {
            _case = @case;
            _fuzzed = 0;
            _asked.Clear();
            _evidence.Clear();
        }

        public bool Answered404(string reference) => _evidence.ContainsKey($"404 {reference}");

        public bool HasEvidence(MissingObject missing) => missing.ErrorCode switch
        {
            RegistryClient.EmptyBody => _evidence.ContainsKey($"empty {missing.Digest}"),
            RegistryClient.SizeMismatch => _evidence.ContainsKey($"size {missing.Digest}"),
            _ => missing.StatusCode == 404 && Answered404(missing.Digest),
        };

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var key = $"{request.Method} {request.RequestUri.PathAndQuery}";
            var attempt = _asked.AddOrUpdate(key, 1, (_, n) => n + 1);
            // A stable seed (HashCode.Combine differs per process), so that a failing case replays.
            var random = new Random(Stable($"{Seed} {_case} {key} {attempt}"));
            if (random.Next(2) == 0)
            {
                var real = await base.SendAsync(request, cancellationToken);
                if (real.StatusCode == HttpStatusCode.NotFound)
                    _evidence[$"404 {path[(path.LastIndexOf('/') + 1)..]}"] = "";
                return real;
            }

            Interlocked.Increment(ref _fuzzed);
            var reference = path[(path.LastIndexOf('/') + 1)..];
            var status = Pick(random, [200, 200, 206, 204, 301, 307, 400, 401, 401, 403, 404, 404, 404, 405, 408, 416, 429, 500, 502, 503, 504, 599]);
            var body = Pick(random, Bodies)(random);
            var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new ByteArrayContent(body), RequestMessage = request };
            if (random.Next(2) == 0)
                response.Headers.TryAddWithoutValidation("Docker-Distribution-API-Version", "registry/2.0");
            if (random.Next(3) == 0)
                response.Content.Headers.TryAddWithoutValidation("Content-Type", Pick(random, ContentTypes));
            if (random.Next(3) == 0)
                response.Content.Headers.ContentLength = random.Next(4) == 0 ? 0 : random.Next(1, 100_000);
            if (random.Next(4) == 0)
                response.Content.Headers.TryAddWithoutValidation("Content-Range", Pick(random, ["bytes 0-0/1", "bytes 0-0/999999", "bytes */0", "garbage", "bytes 0-0/*"]));
            if (random.Next(4) == 0)
                response.Headers.TryAddWithoutValidation("Link", Pick(random, ["</v2/_catalog?last=a&n=1>; rel=\"next\"", "<http://elsewhere.test/v2/_catalog>; rel=\"next\"", "<<>>", "<:\\\\bad>; rel=next", "</x>; rel=\"last\""]));
            if (random.Next(4) == 0)
                response.Headers.TryAddWithoutValidation("WWW-Authenticate", Pick(random, [
                    "Bearer realm=\"http://registry.test/token\",service=\"registry\",scope=\"repository:team/app:pull\"",
                    "Basic realm=\"registry\"", "Bearer", "Bearer realm=\"::not a url\"", "Negotiate", "Bearer realm=\"ftp://registry.test/token\""]));
            if (random.Next(4) == 0)
                response.Headers.TryAddWithoutValidation("Docker-Content-Digest", Pick(random, ["sha256:" + new string('0', 64), "nonsense", ""]));

            if (status == 404)
                _evidence[$"404 {reference}"] = "";
            // A claim (200, 206) without the bytes, of a manifest or a blob, or a blob claimed at another size.
            if (status is 200 or 206)
            {
                _evidence[$"empty {reference}"] = "";
                if (path.Contains("/blobs/", StringComparison.Ordinal))
                    _evidence[$"size {reference}"] = "";
            }
            return response;
        }

        private static int Stable(string text)
        {
            var hash = 17;
            foreach (var c in text)
                hash = unchecked(hash * 31 + c);
            return hash;
        }
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/vnd.oci.image.index.v1+json", "text/html", "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "x/" + new string('y', 300), "application/octet-stream",
    ];

    private static readonly Func<Random, byte[]>[] Bodies =
    [
        _ => [],
        _ => Encoding.UTF8.GetBytes("[]"),
        _ => Encoding.UTF8.GetBytes("{}"),
        _ => Encoding.UTF8.GetBytes("null"),
        _ => Encoding.UTF8.GetBytes("{\"errors\":[\"x\"]}"),
        _ => Encoding.UTF8.GetBytes("{\"errors\":[{\"code\":5}]}"),
        _ => Encoding.UTF8.GetBytes("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}"),
        _ => Encoding.UTF8.GetBytes("{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}"),
        _ => Encoding.UTF8.GetBytes("{\"errors\":[]}"),
        _ => Encoding.UTF8.GetBytes("{\"errors\":{\"code\":\"X\"}}"),
        _ => Encoding.UTF8.GetBytes("{\"repositories\":null,\"tags\":[1,null,\"ok\",{}]}"),
        _ => Encoding.UTF8.GetBytes("{\"repositories\":[\"team/app\",\"../etc\",\"UPPER/case\"]}"),
        _ => Encoding.UTF8.GetBytes("{\"errors\":[{\"code\":\""),
        _ => Encoding.UTF8.GetBytes("{\"token\":5,\"expires_in\":\"300\"}"),
        _ => Encoding.UTF8.GetBytes("{\"token\":\"abc\",\"expires_in\":null}"),
        _ => Encoding.UTF8.GetBytes("{\"access_token\":\"abc\",\"expires_in\":-1}"),
        _ => Encoding.UTF8.GetBytes("{\"token\":\"abc\",\"expires_in\":1e400}"),
        _ => Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"digest\":5,\"size\":\"100\"}]}"),
        _ => Encoding.UTF8.GetBytes("{\"schemaVersion\":1,\"fsLayers\":[5,{\"blobSum\":null}]}"),
        _ => Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)),
        _ => Encoding.UTF8.GetBytes("\"" + new string('a', 70_000) + "\""),
        random =>
        {
            var bytes = new byte[random.Next(1, 512)];
            random.NextBytes(bytes);
            return bytes;
        },
    ];
}
