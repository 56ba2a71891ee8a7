using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using RegistryIntegrity.Benchmarks.Sweep;
using RegistryIntegrity.TestSupport;

// Sweep benchmark: generate a catalog in a real registry 2.8.2, measure the registry's ceiling for the
// sweep's request mix, run the product's backfill and the complete curl + jq probe on it, compare.
//   dotnet run -c Release --project benchmarks/sweep -- --manifests 1000
// With REGISTRY_LOG_LEVEL=info in the environment the registry logs each request's duration, and the
// benchmark adds how many requests were in progress inside the registry on average.
var options = BenchmarkOptions.Parse(args);
if (!AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
{
    Console.Error.WriteLine("Run the benchmark with -c Release: it runs the Verifier built in the same configuration.");
    return 2;
}
Console.WriteLine($"sweep benchmark: {options}; {Environment.ProcessorCount} cores, {Load()}");

// The registry's notifications go to a port nobody listens on while the catalog is pushed (no Listener);
// the counter takes that port once the catalog is in.
var notificationUrl = new Uri($"http://127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/v1/events");
await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry, notificationUrl.ToString());
var registryLog = Path.Combine(stack.StackDir, "registry.log");

// 1. The catalog, through the registry API.
var stopwatch = Stopwatch.StartNew();
var catalog = await CatalogGenerator.PushAsync(stack.RegistryUri, options.Manifests, options.Seed, concurrency: 8);
var generation = stopwatch.Elapsed;
var manifests = catalog.Sum(r => r.ManifestDigests.Count);
var indexes = catalog.Sum(r => r.Indexes.Count);
var blobs = catalog.Sum(r => r.BlobDigests.Count);
var tags = catalog.Sum(r => r.Tags.Count);
Console.WriteLine($"catalog: {catalog.Count} repositories, {tags} tags, {manifests} manifests ({indexes} indexes + {manifests - indexes} images), " +
                  $"{blobs} (repository, blob) pairs; pushed in {generation.TotalSeconds:F1} s with 8 in flight; {Load()}");

// A restart drops the push notifications the registry still retries towards the dead URL (they live
// only in its memory), so whatever reaches the counter from now on comes from the reads that follow.
await stack.StopAsync(StackServices.Registry);
await stack.StartAsync(StackServices.Registry);
using var notifications = new NotificationCounter(notificationUrl);
var registryPid = int.Parse(File.ReadAllText(Path.Combine(stack.StackDir, "registry.pid")), CultureInfo.InvariantCulture);
var loadProcesses = new Dictionary<string, int> { ["registry"] = registryPid, ["load generator"] = Environment.ProcessId };

// 2. The registry's ceiling for the request mix of one complete sweep.
var mix = RegistryLoad.SweepRequests(catalog, catalogPageSize: 1000);
var (ceiling, ceilingCpu) = await MeasureCeilingAsync();
var expected = mix.GroupBy(r => r.Kind).ToDictionary(g => g.Key, g => g.Count());
Console.WriteLine($"ceiling: {ceiling.PerSecond:F0} req/s ({ceiling.Requests} requests in {ceiling.Elapsed.TotalSeconds:F1} s, {options.Connections} connections, " +
                  $"{ceiling.Failures} not 2xx; {Load()}); mix of one sweep: {Describe(expected)}");
Console.WriteLine($"ceiling: {ceilingCpu}");var notificationsAfterCeiling = notifications.Posts;

// 3. The product's sweep: a Verifier service (no Listener), then the backfill verb on its empty store
// (a cold process: JIT included) and a second sweep by the same process over the filled store.
var dataDir = Directory.CreateTempSubdirectory("rit-bench-").FullName;
var environment = new Dictionary<string, string>
{
    ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
    ["Registry__BaseUrl"] = stack.RegistryUri.ToString(),
    ["Registry__MaxConcurrency"] = Invariant(options.Connections),
    // The request budget (default 300/s) protects a production registry; this measures how well the sweep uses the registry.
    ["Registry__MaxRequestsPerSecond"] = "0",
    ["Store__ConnectionString"] = $"Data Source={Path.Combine(dataDir, "verifier.db")}",
    ["Sweep__Enabled"] = "false",
    ["Sweep__ConcurrentRepositories"] = Invariant(options.ConcurrentRepositories),
    ["Sweep__ConcurrentWalks"] = Invariant(options.ConcurrentWalks),
};
SweepOutcome sweep, resweep;
try
{
    await using var verifier = await ServiceProcess.StartAsync("Verifier", environment);
    using var api = new HttpClient { BaseAddress = verifier.BaseUri };
    sweep = await MeasureSweepAsync(verifier, api, ["backfill", "--timeout", "01:00:00"]);
    Print("backfill", sweep);
    resweep = await MeasureSweepAsync(verifier, api, ["sweep", "--wait", "--timeout", "01:00:00"]);
    Print("re-sweep", resweep);
}
finally
{
    Directory.Delete(dataDir, recursive: true);
}
var sweepRate = sweep.Requests / sweep.Seconds;
var sweepManifestRate = manifests / sweep.Seconds;
var notificationsAfterSweep = notifications.Posts;

// The ceiling again: other work on the shared cores moves it, so the sweep is compared with the higher of the two.
(var ceilingAfter, ceilingCpu) = await MeasureCeilingAsync();
var bestCeiling = Math.Max(ceiling.PerSecond, ceilingAfter.PerSecond);
Console.WriteLine($"ceiling after the sweep: {ceilingAfter.PerSecond:F0} req/s ({ceilingAfter.Requests} requests, {ceilingAfter.Failures} not 2xx; {Load()}); {ceilingCpu}");
Console.WriteLine($"backfill: {sweepRate:F0} req/s = {sweepRate / bestCeiling:F2} x the higher ceiling {bestCeiling:F0} req/s (target >= 0.70); " +
                  $"re-sweep: {resweep.Requests / resweep.Seconds:F0} req/s = {resweep.Requests / resweep.Seconds / bestCeiling:F2} x");
var notificationsAfterCeilingAgain = notifications.Posts;

// 4. The baseline: the complete curl + jq probe, sequential.
var probe = await RunProbeAsync(stack.RegistryUri, options.ProbeSeconds);
var covered = catalog.Where(r => probe.Done.Contains(r.Name)).Sum(r => r.ManifestDigests.Count);
var probeRate = covered / probe.Wall.TotalSeconds;
Console.WriteLine($"probe: {probe.Summary} ({Load()})");
Console.WriteLine($"probe: {covered} of {manifests} catalog manifests in {probe.Wall.TotalSeconds:F1} s = {probeRate:F2} manifests/s" +
                  (covered < manifests ? $" (stopped after {options.ProbeSeconds} s)" : ""));
Console.WriteLine($"backfill vs probe: {sweepManifestRate / probeRate:F1} x (target >= 10); re-sweep vs probe: {manifests / resweep.Seconds / probeRate:F1} x");

await Task.Delay(TimeSpan.FromSeconds(2)); // anything the registry still had to deliver
Console.WriteLine($"notifications received since the catalog was pushed: {notifications.Posts} POSTs ({notifications.Actions}); " +
                  $"during the ceilings {notificationsAfterCeiling + notificationsAfterCeilingAgain - notificationsAfterSweep}, " +
                  $"the sweeps {notificationsAfterSweep - notificationsAfterCeiling}, the probe {notifications.Posts - notificationsAfterCeilingAgain} (target 0)");
return 0;

async Task<(LoadResult Result, string Cpu)> MeasureCeilingAsync()
{
    var logFrom = AccessLog.Length(registryLog);
    var cpuBefore = CpuSample.Take(loadProcesses);
    var result = await RegistryLoad.RunAsync(stack.RegistryUri, mix, options.Connections, TimeSpan.FromSeconds(options.CeilingSeconds));
    var cpu = CpuSample.Take(loadProcesses).Since(cpuBefore, PerProcess(loadProcesses, result.Requests));
    await Task.Delay(500);
    return (result, cpu + InFlight(AccessLog.Count(registryLog, logFrom, AccessLog.Length(registryLog)), result.Elapsed));
}

async Task<SweepOutcome> MeasureSweepAsync(ServiceProcess verifier, HttpClient api, string[] verb)
{
    var before = await RegistryRequestCountersAsync(api);
    var logFrom = AccessLog.Length(registryLog);
    var processes = new Dictionary<string, int> { ["registry"] = registryPid, ["verifier"] = verifier.ProcessId };
    var cpuBefore = CpuSample.Take(processes);
    var timer = Stopwatch.StartNew();
    var (exitCode, output) = await ServiceProcess.RunVerbAsync("Verifier", verb, environment, TimeSpan.FromMinutes(65));
    var wall = timer.Elapsed;
    var cpuAfter = CpuSample.Take(processes);
    await Task.Delay(500); // the registry writes its access log line after the response
    var access = AccessLog.Count(registryLog, logFrom, AccessLog.Length(registryLog));
    var sent = Subtract(await RegistryRequestCountersAsync(api), before);
    var status = await api.GetFromJsonAsync<JsonElement>("/v1/status");
    var completed = Regex.Match(output, @"sweep completed: repositories (\d+)/(\d+), tags (\d+), manifests (\d+) \(([\d.]+)/s\), ([\d.]+) s");
    if (exitCode != 0 || !completed.Success)
        throw new InvalidOperationException($"{verb[0]} exited with {exitCode}:\n{output}\n--- verifier ---\n{verifier.Output}");
    return new SweepOutcome(completed.Value, double.Parse(completed.Groups[6].Value, CultureInfo.InvariantCulture), wall, sent, access, status,
        cpuAfter.Since(cpuBefore, PerProcess(processes, (long)sent.Values.Sum())) + InFlight(access, TimeSpan.FromSeconds(double.Parse(completed.Groups[6].Value, CultureInfo.InvariantCulture))));
}

void Print(string label, SweepOutcome sweep)
{
    Console.WriteLine($"{label}: {sweep.Line} (verb wall time {sweep.Wall.TotalSeconds:F1} s; {Load()})");
    Console.WriteLine($"{label}: {manifests} manifests in {sweep.Seconds:F1} s = {manifests / sweep.Seconds:F1} manifests/s; " +
                      $"{sweep.Requests:F0} registry requests = {sweep.Requests / sweep.Seconds:F0} req/s = {sweep.Requests / sweep.Seconds / ceiling.PerSecond:F2} x the ceiling before");
    Console.WriteLine($"{label}: requests by kind (Verifier metrics): {Describe(sweep.Sent)}; unique requests expected: {Describe(expected)}");
    Console.WriteLine($"{label}: registry access log: {sweep.Access.Requests} requests ({sweep.Access.NotSuccessful} not 2xx), {Describe(sweep.Access.ByKind)}; " +
                      $"(repository, digest) requested twice: {sweep.Access.DigestDuplicates} extra requests over {sweep.Access.DigestKeys} objects; " +
                      $"(repository, tag) twice: {sweep.Access.TagDuplicates} over {sweep.Access.TagKeys}" +
                      (sweep.Access.DuplicateExamples.Count > 0 ? $"; e.g. {string.Join(", ", sweep.Access.DuplicateExamples)}" : ""));
    Console.WriteLine($"{label}: {sweep.Cpu} (over the verb's wall time)");
    Console.WriteLine($"{label}: verdicts {sweep.Status.GetProperty("manifests").GetProperty("healthy")} healthy, {sweep.Status.GetProperty("manifests").GetProperty("broken")} broken, " +
                      $"{sweep.Status.GetProperty("manifests").GetProperty("indeterminate")} indeterminate (expected {indexes} healthy: one per index)");
}

static async Task<Dictionary<string, double>> RegistryRequestCountersAsync(HttpClient verifier)
{
    // registry_integrity_registry_requests_total{kind="manifest",code="200"} 123
    var counters = new Dictionary<string, double>(StringComparer.Ordinal);
    foreach (Match m in Regex.Matches(await verifier.GetStringAsync("/metrics"), "^registry_integrity_registry_requests_total\\{kind=\"([^\"]+)\",code=\"([^\"]+)\"\\} (\\S+)$", RegexOptions.Multiline))
    {
        var key = m.Groups[2].Value is "200" or "206" ? m.Groups[1].Value : $"{m.Groups[1].Value} {m.Groups[2].Value}";
        counters[key] = counters.GetValueOrDefault(key) + double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
    }
    return counters;
}

static Dictionary<string, double> Subtract(Dictionary<string, double> after, Dictionary<string, double> before) =>
    after.ToDictionary(a => a.Key, a => a.Value - before.GetValueOrDefault(a.Key), StringComparer.Ordinal);

static string Describe<T>(IReadOnlyDictionary<string, T> counts) =>
    string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));

// Other work on the same cores moves every figure: print the load average next to each.
static string Load() => "load " + string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

static string InFlight(AccessLogCount log, TimeSpan over) =>
    log.InFlight(over) is { } inFlight ? $"; requests in progress in the registry on average {inFlight:F1}" : "";

static Dictionary<string, double> PerProcess(Dictionary<string, int> processes, long requests) =>
    processes.Keys.ToDictionary(k => k, _ => (double)requests);

static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

static async Task<ProbeOutcome> RunProbeAsync(Uri registry, int maxSeconds)
{
    var script = Path.Combine(RepositoryRoot.Find(), "benchmarks", "sweep", "probe.sh");
    var startInfo = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var argument in new[] { script, registry.ToString(), Invariant(maxSeconds) })
        startInfo.ArgumentList.Add(argument);
    using var process = new Process { StartInfo = startInfo };
    var done = new HashSet<string>(StringComparer.Ordinal);
    var summary = "(no summary)";
    process.OutputDataReceived += (_, e) =>
    {
        if (e.Data is null)
            return;
        lock (done)
        {
            if (e.Data.StartsWith("done ", StringComparison.Ordinal))
                done.Add(e.Data[5..]);
            else
                summary = e.Data;
        }
    };
    process.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is not null)
            Console.Error.WriteLine(e.Data);
    };
    var stopwatch = Stopwatch.StartNew();
    process.Start();
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    using var deadline = new CancellationTokenSource(maxSeconds > 0 ? TimeSpan.FromSeconds(maxSeconds + 120) : TimeSpan.FromHours(3));
    try
    {
        await process.WaitForExitAsync(deadline.Token);
    }
    catch (OperationCanceledException)
    {
        process.Kill(entireProcessTree: true);
        throw new TimeoutException("probe.sh did not finish in time");
    }
    var wall = stopwatch.Elapsed;
    process.WaitForExit(); // flushes the redirected output
    lock (done)
        return new ProbeOutcome(summary, done, wall);
}

internal sealed record SweepOutcome(
    string Line, double Seconds, TimeSpan Wall, Dictionary<string, double> Sent, AccessLogCount Access, JsonElement Status, string Cpu)
{
    public double Requests => Sent.Values.Sum();
}

internal sealed record ProbeOutcome(string Summary, IReadOnlySet<string> Done, TimeSpan Wall);

internal sealed record BenchmarkOptions(
    int Manifests, int Seed, int Connections, int CeilingSeconds, int ConcurrentRepositories, int ConcurrentWalks, int ProbeSeconds)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var values = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["--manifests"] = 1000,
            ["--seed"] = 1,
            ["--connections"] = 8,          // the ceiling's connections and the Verifier's Registry:MaxConcurrency
            ["--ceiling-seconds"] = 15,
            ["--concurrent-repositories"] = 8,
            ["--concurrent-walks"] = 4,
            ["--probe-seconds"] = 0,        // 0: the probe covers the whole catalog
        };
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!values.ContainsKey(args[i]) || i + 1 >= args.Length || !int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) || value < 0)
                throw new ArgumentException($"usage: {string.Join(' ', values.Keys.Select(k => $"[{k} N]"))}");
            values[args[i]] = value;
        }
        return new BenchmarkOptions(
            values["--manifests"], values["--seed"], values["--connections"], values["--ceiling-seconds"],
            values["--concurrent-repositories"], values["--concurrent-walks"], values["--probe-seconds"]);
    }
}
