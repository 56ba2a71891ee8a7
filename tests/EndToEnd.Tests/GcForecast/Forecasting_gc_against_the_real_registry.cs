using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.RegistryStorage;
using Xunit.Abstractions;

namespace RegistryIntegrity.EndToEnd.Tests.GcForecast;

/// <summary>
/// The differential proof of the GC forecast against the real registry 2.8.2: for each seed a random catalog is
/// pushed and mutated (<see cref="RandomCatalog"/>), the product (registry -> Listener -> RabbitMQ -> Verifier)
/// records it and sweeps, and its forecast for plain GC and for <c>--delete-untagged</c> (GET /v1/gc-forecast) is
/// compared with what the real <c>docker-registry garbage-collect</c> does to a copy of the same storage, as read by
/// an independent walk of the storage (<see cref="StorageWalk"/>): the tagged and referenced images it breaks, the
/// blobs and revisions it removes, and whether it fails. The forecast read from that copy of the storage
/// (<see cref="StorageGraphSource"/>, the exact one) is held to the same comparison. Five small seeds here; RIT_GC_FORECAST_SEEDS=N runs N
/// (benchmarks/README.md, "GC forecast").
/// </summary>
public sealed class Forecasting_gc_against_the_real_registry(ITestOutputHelper output)
{
    private static readonly int Seeds = int.TryParse(Environment.GetEnvironmentVariable("RIT_GC_FORECAST_SEEDS"), out var n) ? n : 5;
    /// <summary>Items (images, indexes, ...) per repository at most: small in CI, RIT_GC_FORECAST_ITEMS=6 for the soak.</summary>
    private static readonly int MaxItems = int.TryParse(Environment.GetEnvironmentVariable("RIT_GC_FORECAST_ITEMS"), out var m) ? m : 4;
    private static readonly int FirstSeed = int.TryParse(Environment.GetEnvironmentVariable("RIT_GC_FORECAST_FIRST_SEED"), out var f) ? f : 1;

    [Fact]
    public async Task The_forecast_names_exactly_what_garbage_collect_breaks_and_deletes()
    {
        var product = new ForecastProduct();
        await product.InitializeAsync();
        var mismatches = new List<string>();
        var totals = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        try
        {
            for (var seed = FirstSeed; seed < FirstSeed + Seeds; seed++)
                mismatches.AddRange(await RunSeedAsync(product, seed, totals));
        }
        finally
        {
            await product.DisposeAsync();
        }
        output.WriteLine($"{Seeds} seed(s) in {clock.Elapsed.TotalSeconds:F0} s: {string.Join(", ", totals.OrderBy(t => t.Key).Select(t => $"{t.Key} {t.Value}"))}");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(totals.GetValueOrDefault("tagged images broken (-m)") > 0, "no seed broke anything: the run proves nothing about breaking");
        Assert.True(totals.GetValueOrDefault("blobs deleted (plain)") > 0, "no seed deleted a blob in plain mode");
    }

    private async Task<List<string>> RunSeedAsync(RunningProduct product, int seed, Dictionary<string, int> totals)
    {
        var clock = Stopwatch.StartNew();
        var storage = Path.Combine(product.Stack.StackDir, "registry", "data");
        var v2 = Path.Combine(storage, "docker", "registry", "v2");
        // Seeds accumulate in one registry and one store (each GC runs on a copy). A repository an earlier seed left
        // without a tags directory gets an empty one back, or every later --delete-untagged would fail on it.
        var repositories = Path.Combine(v2, "repositories");
        if (Directory.Exists(repositories))
        {
            foreach (var manifests in Directory.GetDirectories(repositories, "_manifests", SearchOption.AllDirectories))
                Directory.CreateDirectory(Path.Combine(manifests, "tags"));
        }
        using var registry = product.Registry();
        var catalog = new RandomCatalog(registry, new Random(seed), seed, v2, MaxItems);
        await catalog.BuildAsync();
        var pushed = clock.Elapsed;
        await WaitForVerdictsAsync(product, catalog.Manifests, deleted: false);
        await catalog.MutateAsync();
        await WaitForVerdictsAsync(product, catalog.Deleted, deleted: true);
        var recorded = clock.Elapsed;
        var sweep = await product.WaitForSweepAsync(await product.StartFreshSweepAsync(TimeSpan.FromSeconds(60)), TimeSpan.FromSeconds(60));
        Assert.Equal("completed", sweep.GetProperty("status").GetString());
        var swept = clock.Elapsed;

        var mismatches = new List<string>();
        var before = new StorageWalk(v2);
        foreach (var deleteUntagged in new[] { false, true })
        {
            var mode = deleteUntagged ? "delete-untagged" : "plain";
            var forecast = await product.VerifierApi.GetFromJsonAsync<JsonElement>($"/v1/gc-forecast?mode={mode}&version=2.8");
            var copy = Path.Combine(product.DataDir, $"gc-{seed}-{mode}");
            CopyDirectory(storage, copy);
            // The exact forecast, read from the very storage the GC is about to run on.
            var fromStorage = await ForecastFromStorageAsync(copy, deleteUntagged);
            var (exitCode, gcOutput) = await GarbageCollectAsync(product.DataDir, copy, deleteUntagged);
            var after = new StorageWalk(Path.Combine(copy, "docker", "registry", "v2"));
            var label = $"seed {seed} {mode}";
            mismatches.AddRange(Compare(label, forecast, before, after, exitCode, gcOutput));
            if (fromStorage.GetProperty("source").GetString() != "storage")
                mismatches.Add($"{label}: the storage forecast says its source is {fromStorage.GetProperty("source")}");
            mismatches.AddRange(Compare($"{label} from storage", fromStorage, before, after, exitCode, gcOutput));
            Count(totals, $"storage forecasts compared ({(deleteUntagged ? "-m" : "plain")})", 1);
            var flag = deleteUntagged ? "-m" : "plain";
            Count(totals, $"tagged images broken ({flag})", forecast.GetProperty("summary").GetProperty("taggedImagesBroken").GetInt32());
            Count(totals, $"referenced images broken ({flag})", forecast.GetProperty("summary").GetProperty("referencedImagesBroken").GetInt32());
            Count(totals, $"blobs deleted ({flag})", forecast.GetProperty("deletedBlobs").GetArrayLength());
            Count(totals, $"gc failed ({flag})", exitCode == 0 ? 0 : 1);
            Directory.Delete(copy, recursive: true);
            output.WriteLine($"{label}: forecast {forecast.GetProperty("result").GetString()}, {forecast.GetProperty("summary")}; garbage-collect exit {exitCode}");
            if (deleteUntagged && seed == FirstSeed)
                mismatches.AddRange(await CheckVerbAndGaugeAsync(product, forecast));
        }
        Count(totals, "tagged images", before.Repositories.Sum(r => before.Tags(r).Count()));
        output.WriteLine($"seed {seed}: {catalog.Manifests.Count} manifest pushes; {string.Join("; ", catalog.Operations)}; " +
                         $"pushed {pushed.TotalSeconds:F1} s, recorded {recorded.TotalSeconds:F1} s, swept {swept.TotalSeconds:F1} s, done {clock.Elapsed.TotalSeconds:F1} s");
        return mismatches;
    }

    private static IEnumerable<string> Compare(string label, JsonElement forecast, StorageWalk before, StorageWalk after, int exitCode, string gcOutput)
    {
        var result = forecast.GetProperty("result").GetString();
        if (result == "incomplete")
        {
            yield return $"{label}: forecast incomplete after a completed sweep: {forecast.GetProperty("gaps")}";
            yield break;
        }
        if ((result == "gc-fails") != (exitCode != 0))
            yield return $"{label}: forecast {result} ({Failure(forecast)}) but garbage-collect exited {exitCode}: {gcOutput.Split('\n').LastOrDefault(l => l.Length > 0)}";

        // Images pullable before and not after, as the storage itself says.
        var observed = new SortedSet<string>(StringComparer.Ordinal);
        var alreadyBroken = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var repository in before.Repositories)
        {
            var children = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (tag, digest) in before.Tags(repository))
            {
                if (!before.Pullable(repository, digest, children))
                    alreadyBroken.Add($"{repository}:{tag}");
                else if (!after.Pullable(repository, digest))
                    observed.Add($"{repository}:{tag}");
            }
            foreach (var child in children.Where(c => before.Pullable(repository, c) && !after.Pullable(repository, c)))
                observed.Add($"{repository}@{child}");
        }
        var images = forecast.GetProperty("images").EnumerateArray().ToList();
        var forecastBroken = new SortedSet<string>(images.Where(i => i.GetProperty("status").GetString() == "breaks").Select(Name), StringComparer.Ordinal);
        var forecastAlready = new SortedSet<string>(images.Where(i => i.GetProperty("status").GetString() == "already-broken" && i.GetProperty("tag").ValueKind == JsonValueKind.String).Select(Name), StringComparer.Ordinal);
        foreach (var line in Differences(label, "broken images", forecastBroken, observed))
            yield return line;
        foreach (var line in Differences(label, "already broken tagged images", forecastAlready, alreadyBroken))
            yield return line;

        var removedBlobs = new SortedSet<string>(before.Blobs.Except(after.Blobs), StringComparer.Ordinal);
        var forecastBlobs = new SortedSet<string>(forecast.GetProperty("deletedBlobs").EnumerateArray().Select(b => b.GetString()!), StringComparer.Ordinal);
        foreach (var line in Differences(label, "deleted blobs", forecastBlobs, removedBlobs))
            yield return line;

        var removedRevisions = new SortedSet<string>(before.Revisions().Except(after.Revisions()).Select(r => $"{r.Repository}@{r.Digest}"), StringComparer.Ordinal);
        var forecastRevisions = new SortedSet<string>(forecast.GetProperty("deletedManifests").EnumerateArray()
            .Select(m => $"{m.GetProperty("repository").GetString()}@{m.GetProperty("digest").GetString()}"), StringComparer.Ordinal);
        foreach (var line in Differences(label, "deleted manifests", forecastRevisions, removedRevisions))
            yield return line;
    }

    private static string Name(JsonElement image) =>
        image.GetProperty("tag").ValueKind == JsonValueKind.String
            ? $"{image.GetProperty("repository").GetString()}:{image.GetProperty("tag").GetString()}"
            : $"{image.GetProperty("repository").GetString()}@{image.GetProperty("digest").GetString()}";

    private static string Failure(JsonElement forecast) =>
        forecast.TryGetProperty("gcFailure", out var failure) && failure.ValueKind == JsonValueKind.String ? failure.GetString()! : "no failure";

    private static IEnumerable<string> Differences(string label, string what, SortedSet<string> forecast, SortedSet<string> observed)
    {
        var missed = observed.Except(forecast).ToList();
        var extra = forecast.Except(observed).ToList();
        if (missed.Count > 0)
            yield return $"{label}: {what} observed but not forecast: {string.Join(", ", missed)}";
        if (extra.Count > 0)
            yield return $"{label}: {what} forecast but not observed: {string.Join(", ", extra)}";
    }

    /// <summary>The verb prints the same answer and exits by it; the gauge shows the same count.</summary>
    private static async Task<List<string>> CheckVerbAndGaugeAsync(RunningProduct product, JsonElement forecast)
    {
        var problems = new List<string>();
        var (exitCode, verbOutput) = await product.RunVerifierVerbAsync("gc-forecast", "--mode", "delete-untagged", "--registry-version", "2.8", "--json");
        var expectedExit = forecast.GetProperty("exitCode").GetInt32();
        if (exitCode != expectedExit)
            problems.Add($"gc-forecast exited {exitCode}, the API's forecast says {expectedExit}: {verbOutput}");
        var broken = forecast.GetProperty("summary").GetProperty("taggedImagesBroken").GetInt32();
        var series = "registry_integrity_gc_forecast_broken_images{mode=\"delete-untagged\",version=\"2.8\"}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string? seen = null;
        while (DateTime.UtcNow < deadline)
        {
            var metrics = await product.VerifierApi.GetStringAsync("/metrics");
            seen = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series, StringComparison.Ordinal));
            if (seen is not null && double.TryParse(seen[series.Length..].Trim(), CultureInfo.InvariantCulture, out var value) && value == broken)
                return problems;
            await Task.Delay(500);
        }
        problems.Add($"gauge shows '{seen}', the forecast {broken}");
        return problems;
    }

    private static async Task WaitForVerdictsAsync(RunningProduct product, IEnumerable<RandomCatalog.Pushed> manifests, bool deleted)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var manifest in manifests.DistinctBy(m => (m.Repository, m.Digest)))
        {
            while (true)
            {
                using var response = await product.VerifierApi.GetAsync($"/v1/manifests?repository={manifest.Repository}&digest={manifest.Digest}");
                if (response.IsSuccessStatusCode)
                {
                    var verdict = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("manifest");
                    var isDeleted = verdict.GetProperty("deletedAt").ValueKind != JsonValueKind.Null;
                    if (deleted ? isDeleted : verdict.GetProperty("result").ValueKind == JsonValueKind.String)
                        break;
                }
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"no {(deleted ? "deletion" : "verdict")} for {manifest.Repository}@{manifest.Digest}\n--- verifier ---\n{product.Verifier.Output}");
                await Task.Delay(100);
            }
        }
    }

    private static async Task<JsonElement> ForecastFromStorageAsync(string root, bool deleteUntagged)
    {
        var source = new StorageGraphSource(new FileSystemRegistryStorage(root), maxManifestBytes: 4 * 1024 * 1024);
        var forecast = await new GcForecastService(source, TimeProvider.System)
            .ForecastAsync(deleteUntagged ? GcMode.DeleteUntagged : GcMode.Plain, GcVersion.V2_8, CancellationToken.None);
        return JsonSerializer.SerializeToElement(forecast, new JsonSerializerOptions(JsonSerializerDefaults.Web));
    }

    private static async Task<(int ExitCode, string Output)> GarbageCollectAsync(string folder, string root, bool deleteUntagged)
    {
        var config = Path.Combine(folder, "gc-config.yml");
        await File.WriteAllTextAsync(config, $"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n");
        var start = new ProcessStartInfo("docker-registry") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in deleteUntagged ? ["garbage-collect", "-m", config] : new[] { "garbage-collect", config })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    /// <summary>The product with the forecast's gauge refreshed every second.</summary>
    private sealed class ForecastProduct : RunningProduct
    {
        protected override IReadOnlyDictionary<string, string> ExtraVerifierSettings =>
            new Dictionary<string, string> { ["GcForecast__RefreshInterval"] = "1s" };
    }

    private static void Count(Dictionary<string, int> totals, string key, int value) => totals[key] = totals.GetValueOrDefault(key) + value;
}
