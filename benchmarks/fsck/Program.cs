using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RegistryIntegrity.Benchmarks.Fsck;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Verification;
using RegistryIntegrity.Verifier.Sweeps;

// Storage scan benchmark: one catalog planted on disk in distribution's layout, served by a real registry 2.8.2;
// the product's HTTP sweep reads it through the registry, `fsck` reads the same storage; manifests/s compared.
//   dotnet run -c Release --project benchmarks/fsck -- [--manifests 10000] [--repositories 100] [--seed 1]
var manifests = Option("--manifests", 10_000);
var repositories = Option("--repositories", 100);
var seed = Option("--seed", 1);
if (!AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
{
    Console.Error.WriteLine("Run the benchmark with -c Release: it runs the Verifier built in the same configuration.");
    return 2;
}
if (Array.IndexOf(args, "--tree-only") is >= 0 and var treeOnly && treeOnly + 1 < args.Length)
{
    // Only the tree, e.g. to profile fsck on it: --tree-only DIR
    Console.WriteLine(StorageTreeGenerator.Write(args[treeOnly + 1], manifests, repositories, seed));
    return 0;
}
Console.WriteLine($"fsck benchmark: --manifests {manifests} --repositories {repositories} --seed {seed}; {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");

await using var stack = await LocalStack.StartAsync(StackServices.Registry);
var root = Path.Combine(stack.StackDir, "registry", "data");
await stack.StopAsync(StackServices.Registry);
var stopwatch = Stopwatch.StartNew();
var tree = StorageTreeGenerator.Write(root, manifests, repositories, seed);
Console.WriteLine($"tree: {tree.Repositories} repositories, {tree.Tags} tags, {tree.Manifests} manifests, {tree.Blobs} other blobs ({tree.Objects} objects), " +
                  $"{tree.LayerLinks} layer links, written in {stopwatch.Elapsed.TotalSeconds:F1} s");
await stack.StartAsync(StackServices.Registry);
var work = Directory.CreateTempSubdirectory("rit-fsck-bench-").FullName;

try
{
    // 1. The HTTP sweep: the product's RepositorySweeper through the registry's API, repositories 4 at a time
    // (the service's default is 2 per replica), no request budget (this measures the registry's ceiling).
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Registry:BaseUrl"] = stack.RegistryUri.ToString(),
        ["Registry:MaxRequestsPerSecond"] = "0",
        ["Registry:MaxConcurrency"] = "16",
        ["Store:ConnectionString"] = $"Data Source={Path.Combine(work, "http.db")}",
    });
    builder.Services.AddVerification();
    builder.Services.AddDapperRepositories();
    builder.Services.AddSweeps();
    using var host = builder.Build();
    await host.Services.GetRequiredService<IVerdictStore>().MigrateAsync(default);
    stopwatch.Restart();
    var (catalog, error) = await host.Services.GetRequiredService<ISweepSource>().ListRepositoriesAsync(default);
    if (error is not null)
        throw new InvalidOperationException(error);
    await Parallel.ForEachAsync(catalog, new ParallelOptions { MaxDegreeOfParallelism = 4 },
        async (repository, ct) => await host.Services.GetRequiredService<RepositorySweeper>().SweepAsync(repository, ct));
    var http = stopwatch.Elapsed;
    var httpBroken = (await host.Services.GetRequiredService<IVerdictStore>().ListBrokenAsync(default)).Count;
    var httpRate = tree.Manifests / http.TotalSeconds;
    Console.WriteLine($"http sweep: {catalog.Count} repositories, {tree.Manifests} manifests in {http.TotalSeconds:F1} s = {httpRate:F0} manifests/s; {httpBroken} broken");

    // 2. fsck as the built Verifier process, on the same storage, into an empty store of its own.
    var (fsck, peakKiB) = await RunFsckAsync(root, Path.Combine(work, "fsck.db"));
    var fsckRate = fsck.GetProperty("manifestsPerSecond").GetDouble();
    var (warm, warmPeakKiB) = await RunFsckAsync(root, Path.Combine(work, "fsck.db"));
    Console.WriteLine($"fsck: {fsck.GetProperty("repositories").GetInt32()} repositories, {fsck.GetProperty("manifests").GetInt32()} manifests, " +
                      $"{fsck.GetProperty("layerLinks").GetInt32()} layer links in {fsck.GetProperty("elapsedSeconds").GetDouble():F1} s = {fsckRate:F0} manifests/s; " +
                      $"{fsck.GetProperty("findings").GetArrayLength()} findings ({fsck.GetProperty("result").GetString()}); peak RSS {peakKiB / 1024.0:F0} MiB");
    Console.WriteLine($"fsck again (store filled): {warm.GetProperty("elapsedSeconds").GetDouble():F1} s = {warm.GetProperty("manifestsPerSecond").GetDouble():F0} manifests/s; peak RSS {warmPeakKiB / 1024.0:F0} MiB");
    Console.WriteLine($"ratio: fsck {fsckRate / httpRate:F1}x the http sweep's manifests/s (target >= 10x)");
    Console.WriteLine($"1 000 000 manifests: fsck ~{1_000_000 / fsckRate / 60:F1} min, http sweep ~{1_000_000 / httpRate / 60:F1} min (linear from the measured rates)");
    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

static async Task<(JsonElement Report, long PeakKiB)> RunFsckAsync(string root, string store)
{
    var verifier = Path.Combine(RepositoryRoot.Find(), "src", "Verifier", "bin", "Release", "net10.0", "RegistryIntegrity.Verifier.dll");
    var start = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var argument in (string[])["-v", "dotnet", verifier, "fsck", "--root", root, "--json", $"--Store:ConnectionString=Data Source={store}"])
        start.ArgumentList.Add(argument);
    using var process = Process.Start(start)!;
    var output = process.StandardOutput.ReadToEndAsync();
    var error = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    var peak = Regex.Match(await error, @"Maximum resident set size \(kbytes\): (\d+)");
    if (!peak.Success)
        throw new InvalidOperationException($"fsck exited {process.ExitCode}: {await error}");
    using var report = JsonDocument.Parse(await output);
    return (report.RootElement.Clone(), long.Parse(peak.Groups[1].Value, CultureInfo.InvariantCulture));
}

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
