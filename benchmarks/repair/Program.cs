using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verification;
using RegistryIntegrity.Verifier;

// Repair throughput against a raw copy of the same kind of objects, both between two real registries 2.8.2 on
// 127.0.0.1 in the same run. Images are pushed to the source only; in the watched registry each is a manifest
// that is gone, so its repair copies every blob and the manifest (after a walk, and followed by the re-walk).
// Even images are repaired, odd ones raw-copied (fresh content each, so neither side finds blobs already there).
//   dotnet run -c Release --project benchmarks/repair -- [--images 16] [--layers 2] [--layer-mib 4] [--big-layer-mib 64]
var images = Option("--images", 16);
var layers = Option("--layers", 2);
var layerMib = Option("--layer-mib", 4);
var bigLayerMib = Option("--big-layer-mib", 64);
var dataDir = Directory.CreateTempSubdirectory("rit-repair-bench-").FullName;
Log($"starting two registries 2.8.2 (state in {dataDir})");
LocalStack? registry = null, source = null;
try
{
    var starting = LocalStack.StartAsync(StackServices.Registry);
    source = await LocalStack.StartAsync(StackServices.Registry);
    registry = await starting;
    using var pusher = new RegistryPusher(source.RegistryUri);
    var pushed = new List<PushedImage>();
    for (var i = 0; i < images; i++)
        pushed.Add(await pusher.PushImageAsync($"bench/app{i:D3}", "v1", layers, layerMib * 1024 * 1024));
    var big = await pusher.PushImageAsync("bench/big", "v1", layers: 1, layerSize: bigLayerMib * 1024 * 1024);
    Log($"pushed {images} images of {layers} x {layerMib} MiB and one of {bigLayerMib} MiB to the source");

    var settings = new Dictionary<string, string?>
    {
        ["Registry:BaseUrl"] = registry.RegistryUri.ToString(),
        ["Registry:MaxRequestsPerSecond"] = "0", // no request budget: the raw copy has none either
        ["Store:Provider"] = "Sqlite",
        ["Store:ConnectionString"] = $"Data Source={Path.Combine(dataDir, "verifier.db")}",
        ["Repair:Sources:0:Name"] = "source",
        ["Repair:Sources:0:BaseUrl"] = source.RegistryUri.ToString(),
    };
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    var services = new ServiceCollection()
        .AddSingleton<IConfiguration>(configuration)
        .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
        .AddVerification()
        .AddDapperRepositories()
        .AddRepair(configuration);
    await using var provider = services.BuildServiceProvider();
    await provider.GetRequiredService<IVerdictStore>().MigrateAsync(CancellationToken.None);
    var repair = provider.GetRequiredService<RepairService>();
    using var raw = new RegistryCopy();

    // Warm-up (connections, JIT) on an image of its own, not counted.
    var warm = await pusher.PushImageAsync("bench/warm", "v1", 1, 1024);
    await repair.RunAsync(new RepairRequest(warm.Repository, warm.Digest, Apply: true), null, CancellationToken.None);

    var repairTime = TimeSpan.Zero;
    var rawTime = TimeSpan.Zero;
    long repairBytes = 0, rawBytes = 0;
    int repairObjects = 0, rawObjects = 0;
    for (var i = 0; i < pushed.Count; i++)
    {
        var image = pushed[i];
        var clock = Stopwatch.StartNew();
        if (i % 2 == 0)
        {
            var run = await repair.RunAsync(new RepairRequest(image.Repository, image.Digest, Apply: true), null, CancellationToken.None);
            repairTime += clock.Elapsed;
            if (run.Result != RepairResults.Repaired)
                throw new InvalidOperationException($"{image.Repository} was not repaired: {RepairCommandText(run)}");
            repairBytes += run.BytesCopied;
            repairObjects += run.ObjectsCopied;
        }
        else
        {
            var (objects, bytes) = await raw.CopyAsync(source.RegistryUri, registry.RegistryUri, image.Repository, image.Digest);
            rawTime += clock.Elapsed;
            rawBytes += bytes;
            rawObjects += objects;
        }
    }

    // One large blob: chunked upload (Repair:ChunkBytes, 16 MiB), and what the process allocated while streaming it.
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    var bigClock = Stopwatch.StartNew();
    var bigRun = await repair.RunAsync(new RepairRequest(big.Repository, big.Digest, Apply: true), null, CancellationToken.None);
    var bigTime = bigClock.Elapsed;
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
    if (bigRun.Result != RepairResults.Repaired)
        throw new InvalidOperationException($"the big image was not repaired: {RepairCommandText(bigRun)}");
    var problems = new List<string>();
    foreach (var image in pushed.Append(big))
        problems.AddRange(await raw.PullAsync(registry.RegistryUri, image.Repository, image.Digest));
    if (problems.Count > 0)
        throw new InvalidOperationException("the independent pull failed: " + string.Join("; ", problems));

    double Mb(long bytes) => bytes / 1e6;
    var repairMbps = Mb(repairBytes) / repairTime.TotalSeconds;
    var rawMbps = Mb(rawBytes) / rawTime.TotalSeconds;
    Log("results (every image pulled back whole from the watched registry, digests checked):");
    Log($"  repair    {repairObjects,4} objects {Mb(repairBytes),8:F1} MB in {repairTime.TotalSeconds,6:F2} s: {repairMbps,7:F1} MB/s {repairObjects / repairTime.TotalSeconds,7:F1} objects/s (walk, plan, source lookups, copy, re-walk)");
    Log($"  raw copy  {rawObjects,4} objects {Mb(rawBytes),8:F1} MB in {rawTime.TotalSeconds,6:F2} s: {rawMbps,7:F1} MB/s {rawObjects / rawTime.TotalSeconds,7:F1} objects/s (GET and PUT only)");
    Log($"  ratio repair/raw: {repairMbps / rawMbps:F2} (MB/s), {repairObjects / repairTime.TotalSeconds / (rawObjects / rawTime.TotalSeconds):F2} (objects/s)");
    Log($"  big image: {Mb(bigRun.BytesCopied):F1} MB in {bigTime.TotalSeconds:F2} s ({Mb(bigRun.BytesCopied) / bigTime.TotalSeconds:F1} MB/s, chunked), {Mb(allocated):F1} MB allocated by the process meanwhile");
    return 0;
}
finally
{
    if (registry is not null)
        await registry.DisposeAsync();
    if (source is not null)
        await source.DisposeAsync();
    Directory.Delete(dataDir, recursive: true);
}

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}

static string RepairCommandText(RepairRun run) =>
    string.Join("; ", run.Manifests.SelectMany(m => m.StillMissing.Select(s => $"{s.Digest}: {s.Why}")).Concat(run.Problems));

static void Log(string line) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
