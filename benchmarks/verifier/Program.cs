using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Benchmarks.Verifier;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verification;

// The Verifier against the real registry 2.8.2 (and, for latency, the real Listener, RabbitMQ and
// Verifier processes), all on 127.0.0.1. Every loop is bounded; every process is stopped at the end.
//   dotnet run -c Release --project benchmarks/verifier -- [--repos 50] [--tags 4] [--rounds 3] [--pushes 200]
var settings = Settings.Parse(args);
const string Token = "benchmark-webhook-token-0123456789";
var listenerPort = LocalStack.GetFreeTcpPorts(1)[0];
var dataDir = Directory.CreateTempSubdirectory("rit-bench-").FullName;
Log($"starting registry 2.8.2 and RabbitMQ (state in {dataDir})");
LocalStack? stack = null;
ServiceProcess? verifier = null, listener = null;
try
{
    stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry, $"http://127.0.0.1:{listenerPort}/v1/events", Token);
    verifier = await ServiceProcess.StartAsync("Verifier", new Dictionary<string, string>
    {
        ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
        ["Registry__BaseUrl"] = stack.RegistryUri.ToString(),
        ["Store__ConnectionString"] = $"Data Source={Path.Combine(dataDir, "verifier.db")}",
        ["Logging__LogLevel__Default"] = "Warning",
    });
    listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
    {
        ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
        ["Listener__BearerTokens__0"] = Token,
        ["Logging__LogLevel__Default"] = "Warning",
    }, fixedPort: listenerPort);
    using var status = new HttpClient { BaseAddress = verifier.BaseUri };

    using var pusher = new RegistryPusher(stack.RegistryUri);
    var clock = Stopwatch.StartNew();
    var catalog = await Catalog.PushAsync(pusher, settings.Repositories, settings.Tags);
    var manifestCount = catalog.Sum(t => t.ManifestDigests.Count);
    Log($"pushed {catalog.Count} indexes ({manifestCount} manifests, {catalog.Sum(t => t.BlobDigests.Count)} blob references) in {clock.Elapsed.TotalSeconds:F1} s");
    await WaitForHealthyAsync(status, manifestCount, TimeSpan.FromMinutes(5));
    Log($"the Verifier has a healthy verdict for all {manifestCount} manifests ({clock.Elapsed.TotalSeconds:F1} s after the first push)");

    // The request mix of one complete walk of every index, replayed raw.
    var mix = catalog.SelectMany(t => t.ManifestDigests.Select(d => (t.Repository, Path: $"v2/{t.Repository}/manifests/{d}", Manifest: true))
        .Concat(t.BlobDigests.Select(d => (t.Repository, Path: $"v2/{t.Repository}/blobs/{d}", Manifest: false)))).ToList();

    using var walkerServices = WalkerServices(stack.RegistryUri, out var counter);
    var walker = walkerServices.GetRequiredService<ManifestWalker>();
    var ceilings = new List<double>();
    var walks = new List<double>();
    await WalkAllAsync(walker, catalog, counter); // warm-up: connections, JIT
    await ReplayAsync(stack.RegistryUri, mix);
    for (var round = 1; round <= settings.Rounds; round++)
    {
        var ceiling = await ReplayAsync(stack.RegistryUri, mix);
        var walk = await WalkAllAsync(walker, catalog, counter);
        ceilings.Add(ceiling.RequestsPerSecond);
        walks.Add(walk.RequestsPerSecond);
        Log($"round {round}: raw HttpClient x8 {ceiling.RequestsPerSecond:F0} req/s ({ceiling.Requests} in {ceiling.Seconds:F2} s); " +
            $"walker {walk.RequestsPerSecond:F0} req/s ({walk.Requests} requests, {walk.Manifests} manifests in {walk.Seconds:F2} s, {walk.Healthy}/{catalog.Count} indexes healthy)");
    }

    var latencies = await MeasurePushToVerdictAsync(pusher, status, settings.Pushes);

    var ceilingMedian = Median(ceilings);
    var walkMedian = Median(walks);
    var ratio = walkMedian / ceilingMedian;
    var p50 = Percentile(latencies, 0.50);
    var p99 = Percentile(latencies, 0.99);
    Console.WriteLine();
    Console.WriteLine($"catalog: {settings.Repositories} repositories x {settings.Tags} tags of 3-image OCI indexes: {catalog.Count} indexes, {manifestCount} manifests, {mix.Count} requests per complete walk");
    Console.WriteLine($"(a) registry ceiling, raw HttpClient, 8 connections, same request mix: median {ceilingMedian:F0} req/s (rounds: {string.Join(", ", ceilings.Select(c => c.ToString("F0", CultureInfo.InvariantCulture)))})");
    Console.WriteLine($"(b) walker (MaxConcurrency 8, no request budget, ranged GET): median {walkMedian:F0} req/s (rounds: {string.Join(", ", walks.Select(c => c.ToString("F0", CultureInfo.InvariantCulture)))}); ratio {ratio:F2} (target >= 0.70: {(ratio >= 0.7 ? "met" : "MISSED")})");
    Console.WriteLine($"(c) push -> stored verdict through Listener + RabbitMQ + Verifier, {latencies.Count} image pushes at 20/s: p50 {p50:F0} ms, " +
        $"p90 {Percentile(latencies, 0.90):F0} ms, p99 {p99:F0} ms, max {latencies.Max():F0} ms (target p99 < 500 ms: {(p99 < 500 ? "met" : "MISSED")})");
    return 0;
}
finally
{
    if (listener is not null)
        await listener.DisposeAsync();
    if (verifier is not null)
        await verifier.DisposeAsync();
    if (stack is not null)
        await stack.DisposeAsync();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(dataDir, recursive: true);
}

static async Task<(int Requests, double Seconds, double RequestsPerSecond)> ReplayAsync(
    Uri registry, List<(string Repository, string Path, bool Manifest)> mix)
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = registry };
    var next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < mix.Count)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, mix[i].Path);
            if (mix[i].Manifest)
            {
                foreach (var type in ManifestMediaTypes.Accept)
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }
            else
            {
                request.Headers.Range = new RangeHeaderValue(0, 0);
            }
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
        }
    }));
    clock.Stop();
    return (mix.Count, clock.Elapsed.TotalSeconds, mix.Count / clock.Elapsed.TotalSeconds);
}

static async Task<(int Requests, int Manifests, int Healthy, double Seconds, double RequestsPerSecond)> WalkAllAsync(
    ManifestWalker walker, List<PushedTree> catalog, RequestCounter counter)
{
    var before = counter.Count;
    var manifests = 0;
    var healthy = 0;
    var clock = Stopwatch.StartNew();
    // Several roots in flight, as a sweep walks them; the client's own limit keeps 8 requests in flight.
    await Parallel.ForEachAsync(catalog, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (tree, cancellationToken) =>
    {
        var walk = await walker.WalkAsync(tree.Repository, tree.Digest, cancellationToken);
        Interlocked.Add(ref manifests, walk.Manifests.Count);
        if (walk.Result == VerdictResult.Healthy)
            Interlocked.Increment(ref healthy);
    });
    clock.Stop();
    var requests = counter.Count - before;
    return (requests, manifests, healthy, clock.Elapsed.TotalSeconds, requests / clock.Elapsed.TotalSeconds);
}

static ServiceProvider WalkerServices(Uri registry, out RequestCounter counter)
{
    var services = new ServiceCollection();
    services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Registry:BaseUrl"] = registry.ToString(),
        ["Registry:MaxConcurrency"] = "8",
        ["Registry:MaxRequestsPerSecond"] = "0",
        ["Registry:BlobCheck"] = "RangedGet",
    }).Build());
    services.AddLogging();
    services.AddVerification();
    var requests = new RequestCounter();
    services.AddHttpClient<RegistryClient>().AddHttpMessageHandler(() => new CountingHandler(requests));
    counter = requests;
    return services.BuildServiceProvider();
}

static async Task<List<double>> MeasurePushToVerdictAsync(RegistryPusher pusher, HttpClient status, int pushes)
{
    // Pushed at a steady 20 images/s, not waited on one by one: the Verifier works while pushes go on.
    var pushed = new List<(string Repository, string Digest, DateTimeOffset At)>();
    var pacing = Stopwatch.StartNew();
    for (var i = 0; i < pushes; i++)
    {
        var image = await pusher.PushImageAsync($"latency/app{i % 10}", $"t{i}", layers: 2);
        pushed.Add((image.Repository, image.Digest, DateTimeOffset.UtcNow));
        var due = TimeSpan.FromMilliseconds(50 * (i + 1));
        if (pacing.Elapsed < due)
            await Task.Delay(due - pacing.Elapsed);
    }
    var latencies = new List<double>();
    var deadline = DateTime.UtcNow.AddMinutes(2);
    foreach (var (repository, digest, at) in pushed)
    {
        while (true)
        {
            var response = await status.GetAsync($"/v1/manifests?repository={repository}&digest={digest}");
            if (response.IsSuccessStatusCode)
            {
                var manifest = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("manifest");
                if (manifest.GetProperty("result").GetString() is { } result)
                {
                    if (result != "healthy")
                        throw new InvalidOperationException($"{repository}@{digest} is {result}");
                    latencies.Add((manifest.GetProperty("checkedAt").GetDateTimeOffset() - at).TotalMilliseconds);
                    break;
                }
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no verdict for {repository}@{digest}");
            await Task.Delay(50);
        }
    }
    return latencies;
}

static async Task WaitForHealthyAsync(HttpClient status, int expected, TimeSpan within)
{
    var deadline = DateTime.UtcNow + within;
    long healthy = 0;
    while (DateTime.UtcNow < deadline)
    {
        var body = await status.GetFromJsonAsync<JsonElement>("/v1/status");
        var manifests = body.GetProperty("manifests");
        healthy = manifests.GetProperty("healthy").GetInt64();
        if (manifests.GetProperty("broken").GetInt64() + manifests.GetProperty("indeterminate").GetInt64() > 0)
            throw new InvalidOperationException($"unexpected verdicts: {body}");
        if (healthy >= expected)
            return;
        await Task.Delay(500);
    }
    throw new TimeoutException($"only {healthy} of {expected} manifests verified within {within}");
}

static double Median(List<double> values) => Percentile(values, 0.5);

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    var rank = (int)Math.Ceiling(p * sorted.Count) - 1;
    return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
}

static void Log(string message) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");

internal sealed record Settings(int Repositories, int Tags, int Rounds, int Pushes)
{
    public static Settings Parse(string[] args)
    {
        int Value(string name, int fallback, int max)
        {
            var i = Array.IndexOf(args, name);
            var value = i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
            return value >= 1 && value <= max ? value : throw new ArgumentOutOfRangeException(name, value, $"1..{max}");
        }
        return new Settings(Value("--repos", 50, 500), Value("--tags", 4, 20), Value("--rounds", 3, 20), Value("--pushes", 200, 5000));
    }
}

internal sealed class RequestCounter
{
    private long _count;

    public int Count => (int)Interlocked.Read(ref _count);

    public void Add() => Interlocked.Increment(ref _count);
}

/// <summary>Counts the requests that reach the socket handler under the registry client.</summary>
internal sealed class CountingHandler(RequestCounter counter) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        counter.Add();
        return base.SendAsync(request, cancellationToken);
    }
}
