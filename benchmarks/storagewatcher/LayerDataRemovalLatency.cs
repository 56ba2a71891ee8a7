using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

/// <summary>
/// Issue 13 scenario (b), measured: a layer's <c>data</c> file removed on the registry's disk, to the image listed on the
/// Verifier's <c>/v1/broken</c>, with no sweep. The whole product runs (registry 2.8.2, RabbitMQ, Listener, Verifier,
/// the storage watcher); each image is pushed and proven healthy first, then its layer data removed one at a time and
/// <c>/v1/broken</c> polled every 20 ms. Three series: removals while both processes have run a while ("steady"), the
/// first removal after the watcher restarted ("watcher cold": whatever its send path sets up lazily), and the first
/// after the Verifier restarted ("verifier cold": the removal handler's code and queries run for the first time).
/// </summary>
internal static class LayerDataRemovalLatency
{
    private const string Token = "bench-webhook-token-0123456789";

    public static async Task<int> RunAsync(int steady, int restarts)
    {
        try
        {
            return await MeasureAsync(steady, restarts);
        }
        finally
        {
            Console.Out.Flush();
        }
    }

    private static async Task<int> MeasureAsync(int steady, int restarts)
    {
        var listenerPort = LocalStack.GetFreeTcpPorts(1)[0];
        await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry, $"http://127.0.0.1:{listenerPort}/v1/events", Token);
        var data = Directory.CreateTempSubdirectory("rit-latency-bench-").FullName;
        var storageRoot = Path.Combine(stack.StackDir, "registry", "data");
        Directory.CreateDirectory(Path.Combine(storageRoot, "docker", "registry", "v2"));
        var verifierEnvironment = new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
            ["Registry__BaseUrl"] = stack.RegistryUri.ToString(),
            ["Store__ConnectionString"] = $"Data Source={Path.Combine(data, "verifier.db")}",
            ["Sweep__Enabled"] = "false",
        };
        var verifier = await ServiceProcess.StartAsync("Verifier", verifierEnvironment);
        await using var listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
            ["Listener__BearerTokens__0"] = Token,
        }, fixedPort: listenerPort);
        var watcherEnvironment = new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
            ["StorageWatcher__Root"] = storageRoot,
        };
        var watcher = await StartWatcherAsync(watcherEnvironment);
        var api = new HttpClient { BaseAddress = verifier.BaseUri };
        using var registry = new RegistryPusher(stack.RegistryUri);

        var images = new List<PushedImage>();
        for (var i = 0; i < steady + 2 * restarts; i++)
            images.Add(await registry.PushImageAsync($"bench/latency{i}", "v1", layers: 2));
        foreach (var image in images)
            await WaitForHealthyAsync(api, image);

        var times = new Dictionary<string, List<double>> { ["steady"] = [], ["watcher cold"] = [], ["verifier cold"] = [] };
        var sweepBefore = await WaitForNoSweepAsync(api);
        for (var i = 0; i < images.Count; i++)
        {
            var series = i < steady ? "steady" : i < steady + restarts ? "watcher cold" : "verifier cold";
            if (series == "watcher cold")
            {
                await watcher.DisposeAsync();
                watcher = await StartWatcherAsync(watcherEnvironment);
                sweepBefore = await WaitForNoSweepAsync(api); // the restarted watcher asks for a reconciling sweep
                await Task.Delay(1000);
            }
            else if (series == "verifier cold")
            {
                await verifier.DisposeAsync();
                api.Dispose();
                verifier = await ServiceProcess.StartAsync("Verifier", verifierEnvironment);
                api = new HttpClient { BaseAddress = verifier.BaseUri };
                sweepBefore = await WaitForNoSweepAsync(api);
                await Task.Delay(1000);
            }
            var image = images[i];
            var layer = image.LayerDigests[1];
            var clock = Stopwatch.StartNew();
            File.Delete(Path.Combine(storageRoot, "docker", "registry", "v2", "blobs", "sha256", layer[7..9], layer[7..], "data"));
            while (!await IsBrokenAsync(api, image))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                    throw new TimeoutException($"{image.Repository}@{image.Digest} not on /v1/broken within 60 s\n--- watcher ---\n{watcher.Output}\n--- verifier ---\n{verifier.Output}");
                await Task.Delay(20);
            }
            var ms = clock.Elapsed.TotalMilliseconds;
            times[series].Add(ms);
            Console.WriteLine($"{series} {image.Repository}: {ms:F0} ms");
            var sweepAfter = await LatestSweepAsync(api);
            if (sweepAfter != sweepBefore)
                throw new InvalidOperationException($"a sweep ({sweepAfter}) started during the measurement: the latency would not be the watcher's");
            await Task.Delay(500);
        }

        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (var (series, measured) in times)
            Report(series, measured);
        Console.WriteLine("watcher removal -> broker confirm (this watcher process):");
        foreach (var line in (await new HttpClient().GetStringAsync(new Uri(watcher.BaseUri, "/metrics"))).Split('\n')
                     .Where(l => l.StartsWith("registry_integrity_storage_watcher_removal_to_send_seconds_", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal)))
            Console.WriteLine($"  {line}");
        await watcher.DisposeAsync();
        await verifier.DisposeAsync();
        api.Dispose();
        Directory.Delete(data, recursive: true);
        return 0;
    }

    private static async Task<ServiceProcess> StartWatcherAsync(Dictionary<string, string> environment)
    {
        var watcher = await ServiceProcess.StartAsync("Listener", environment, arguments: ["watch-storage"]);
        using var http = new HttpClient { BaseAddress = watcher.BaseUri };
        for (var i = 0; i < 300 && !(await http.GetStringAsync("/v1/status")).Contains("\"watching\"", StringComparison.Ordinal); i++)
            await Task.Delay(100);
        return watcher;
    }

    private static void Report(string series, List<double> times)
    {
        if (times.Count == 0)
            return;
        var sorted = times.Order().ToList();
        double At(double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{series}: n={sorted.Count} min {sorted[0]:F0} ms, median {At(0.5):F0} ms, p90 {At(0.9):F0} ms, max {sorted[^1]:F0} ms, over 2 s: {sorted.Count(t => t > 2000)}"));
    }

    private static async Task WaitForHealthyAsync(HttpClient api, PushedImage image)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await api.GetAsync($"/v1/manifests?repository={image.Repository}&digest={image.Digest}");
            if (response.IsSuccessStatusCode
                && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("manifest").GetProperty("result").GetString() == "healthy")
                return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"{image.Repository}@{image.Digest} not healthy within 120 s");
    }

    /// <summary>Waits until no sweep is running; returns the latest sweep's id (a different one later means a sweep started).</summary>
    private static async Task<string?> WaitForNoSweepAsync(HttpClient api)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            var status = await api.GetFromJsonAsync<JsonElement>("/v1/status");
            var latest = status.GetProperty("latestSweep");
            if (latest.ValueKind == JsonValueKind.Null || latest.GetProperty("status").GetString() is "completed" or "failed")
            {
                // A requested sweep may not have started yet: quiet for 3 s counts as none.
                await Task.Delay(3000);
                var again = await LatestSweepAsync(api);
                var id = latest.ValueKind == JsonValueKind.Null ? null : latest.GetProperty("id").GetString();
                if (again == id)
                    return id;
                continue;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("a sweep still running after 120 s");
    }

    private static async Task<string?> LatestSweepAsync(HttpClient api)
    {
        var latest = (await api.GetFromJsonAsync<JsonElement>("/v1/status")).GetProperty("latestSweep");
        return latest.ValueKind == JsonValueKind.Null ? null : latest.GetProperty("id").GetString();
    }

    private static async Task<bool> IsBrokenAsync(HttpClient api, PushedImage image)
    {
        var broken = await api.GetFromJsonAsync<JsonElement>("/v1/broken");
        return broken.EnumerateArray().Any(e => e.GetProperty("repository").GetString() == image.Repository && e.GetProperty("digest").GetString() == image.Digest);
    }
}
