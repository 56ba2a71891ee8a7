using System.Diagnostics;
using System.Globalization;
using System.Text;
using RegistryIntegrity.TestSupport;
using Xunit.Abstractions;

namespace RegistryIntegrity.Faults.Tests;

/// <summary>
/// Each fact drives a steady stream of events, injects one fault in the middle of it, lets the
/// product drain, then checks the promise: every event acknowledged 2xx is processed exactly once,
/// every pushed manifest has a verdict, and nothing was called broken because of the outage.
/// </summary>
public sealed class Surviving_faults_under_load(FaultyProduct product, ITestOutputHelper output) : IClassFixture<FaultyProduct>
{
    private static readonly TimeSpan DrainWithin = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Killing_the_listener_loses_no_acknowledged_event()
    {
        var report = await RunAsync("listener-kill", product.ListenerBase, async () =>
        {
            await product.Listener.KillAsync();
            await Task.Delay(TimeSpan.FromSeconds(2));
            await product.StartListenerAsync();
        });
        report.AssertInvariants();
    }

    [Fact]
    public async Task Killing_the_verifier_in_the_middle_of_walks_loses_and_duplicates_nothing()
    {
        var report = await RunAsync("verifier-kill", product.VerifierBase, async () =>
        {
            await product.Verifier.KillAsync();
            await Task.Delay(TimeSpan.FromSeconds(2));
            await product.StartVerifierAsync();
        });
        report.AssertInvariants();
    }

    [Fact]
    public async Task Restarting_rabbitmq_makes_the_listener_answer_503_and_recover_without_a_restart()
    {
        var listenerProcess = product.Listener.ProcessId;
        var report = await RunAsync("rabbitmq-restart", product.ListenerBase, async () =>
        {
            await product.Stack.StopAsync(StackServices.RabbitMq);
            await Task.Delay(TimeSpan.FromSeconds(3));
            await product.Stack.StartAsync(StackServices.RabbitMq);
        });
        report.AssertInvariants();
        Assert.Equal(listenerProcess, product.Listener.ProcessId);
        Assert.False(product.Listener.HasExited);
        Assert.True(report.Driver.RefusedByStatus.GetValueOrDefault(503) > 0, "the Listener never answered 503 while the broker was down");
        using var http = new HttpClient { BaseAddress = product.ListenerBase };
        var metrics = await http.GetStringAsync("/metrics");
        Assert.True(FaultyProduct.MetricSum(metrics, "registry_integrity_listener_publish_failures_total") > 0, "publish failures were not counted");
    }

    [Fact]
    public async Task Restarting_postgresql_under_the_verifier_is_covered_by_retries_or_replay()
    {
        var report = await RunAsync("postgres-restart", product.VerifierBase, async () =>
        {
            await product.Stack.StopAsync(StackServices.Postgres);
            await Task.Delay(TimeSpan.FromSeconds(4));
            await product.Stack.StartAsync(StackServices.Postgres);
        });
        report.AssertInvariants();
    }

    [Fact]
    public async Task An_unreachable_registry_makes_walks_indeterminate_never_broken()
    {
        var registryDown = false;
        var report = await RunAsync("registry-outage", watched: null, async () =>
        {
            await product.Stack.StopAsync(StackServices.Registry);
            // Direct posts keep naming real digests, so the Verifier walks them while the registry is gone.
            using var http = new HttpClient { BaseAddress = product.VerifierBase };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (!registryDown && DateTime.UtcNow < deadline)
            {
                await Task.Delay(300);
                registryDown = (await http.GetStringAsync("/metrics")).Contains("registry_integrity_registry_up 0", StringComparison.Ordinal);
            }
            await product.Stack.StartAsync(StackServices.Registry);
        });
        report.AssertInvariants();
        Assert.True(registryDown, "registry_integrity_registry_up never showed the outage");
        using var verifier = new HttpClient { BaseAddress = product.VerifierBase };
        var metrics = await verifier.GetStringAsync("/metrics");
        var failedRequests = metrics.Split('\n').Where(l => l.StartsWith("registry_integrity_registry_requests_total{", StringComparison.Ordinal) && l.Contains("code=\"error\"", StringComparison.Ordinal));
        Assert.NotEmpty(failedRequests);
    }

    [Fact]
    public async Task Copies_of_one_event_delivered_at_once_are_processed_once()
    {
        // The registry sends an event again when the answer is slower than its timeout, so copies can sit in the queue together.
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("faults/copies/direct", "v1", layers: 1, layerSize: 256);
        using var listener = new HttpClient { BaseAddress = product.ListenerBase };
        listener.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", product.WebhookToken);
        var ids = Enumerable.Range(0, 30).Select(_ => Guid.NewGuid().ToString()).ToList();
        var posts = ids.SelectMany(id => Enumerable.Range(0, 4).Select(async _ =>
        {
            using var content = new ByteArrayContent(EventDriver.Envelope(id, image, product));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.docker.distribution.events.v1+json");
            using var response = await listener.PostAsync("/v1/events", content);
            response.EnsureSuccessStatusCode();
        }));
        await Task.WhenAll(posts);

        var deadline = DateTime.UtcNow + DrainWithin;
        while (!ids.All((await product.ProcessedEventIdsAsync()).Contains) || await product.QueueDepthAsync("registry-integrity-events") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"not drained\n{product.Verifier.Output}");
            await Task.Delay(300);
        }
        // Copies still being walked finish after the queue is empty.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var twice = await product.EventIdsStoredTwiceInHistoryAsync();
        Assert.Empty(twice.Intersect(ids));
    }

    private async Task<ScenarioReport> RunAsync(string name, Uri? watched, Func<Task> fault)
    {
        using var registry = product.Registry();
        var seeds = new List<PushedImage>();
        for (var i = 0; i < 3; i++)
            seeds.Add(await registry.PushImageAsync($"faults/{name}/direct", $"s{i}", layers: 1, layerSize: 256));

        await using var watch = watched is null ? null : new ReadinessWatch(watched);
        await using var driver = new EventDriver(product, $"faults/{name}", seeds);
        driver.Start();
        await Task.Delay(TimeSpan.FromSeconds(3));

        var faultClock = Stopwatch.StartNew();
        await fault();
        var faultDuration = faultClock.Elapsed;
        var recovered = Stopwatch.StartNew();

        await Task.Delay(TimeSpan.FromSeconds(3));
        await driver.StopAsync();

        var pushed = driver.Pushed.Concat(seeds).ToList();
        var replayed = false;
        HashSet<string> processed;
        Dictionary<(string Repository, string Digest), string> verdicts;
        while (true)
        {
            processed = await product.ProcessedEventIdsAsync();
            verdicts = await product.VerdictsAsync();
            var drained = driver.Acknowledged.Keys.All(processed.Contains) && pushed.All(p => verdicts.ContainsKey((p.Repository, p.Digest)));
            if (drained || recovered.Elapsed > DrainWithin)
                break;
            if (!replayed && recovered.Elapsed > TimeSpan.FromSeconds(30) && await product.QueueDepthAsync("registry-integrity-events_error") > 0)
            {
                var (exitCode, verbOutput) = await product.RunVerifierVerbAsync("replay-errors");
                output.WriteLine($"[{name}] retries exhausted: ran replay-errors (exit {exitCode}):\n{verbOutput}");
                replayed = true;
            }
            await Task.Delay(500);
        }
        var drainTime = recovered.Elapsed;

        var report = new ScenarioReport(name, driver, pushed, processed, verdicts, await product.EventIdsStoredTwiceInHistoryAsync(),
            watch, faultDuration, drainTime, replayed, product);
        using var verifier = new HttpClient { BaseAddress = product.VerifierBase };
        report.BrokenGauge = FaultyProduct.MetricSum(await verifier.GetStringAsync("/metrics"), "registry_integrity_broken_manifests");
        report.DanglingTags = await product.DanglingTagsAsync();
        foreach (var tag in report.DanglingTags.Where(t => t.StartsWith($"faults/{name}/", StringComparison.Ordinal)))
            report.ScenarioDanglingTags[tag] = await product.RegistryStatusOfTagAsync(tag);
        var summary = report.Summary();
        output.WriteLine(summary);
        await File.AppendAllTextAsync(Path.Combine(product.ReportDirectory, "fault-report.md"), summary + "\n");
        output.WriteLine($"report: {Path.Combine(product.ReportDirectory, "fault-report.md")}");
        return report;
    }
}

public sealed class ScenarioReport(
    string name,
    EventDriver driver,
    IReadOnlyList<PushedImage> pushed,
    HashSet<string> processed,
    Dictionary<(string Repository, string Digest), string> verdicts,
    IReadOnlyList<string> duplicatedInHistory,
    ReadinessWatch? watch,
    TimeSpan faultDuration,
    TimeSpan drainTime,
    bool replayed,
    FaultyProduct product)
{
    public EventDriver Driver => driver;

    public double BrokenGauge { get; set; }

    /// <summary>Every tag the store holds as dangling, as "repository:tag".</summary>
    public IReadOnlyList<string> DanglingTags { get; set; } = [];

    /// <summary>This scenario's dangling tags and what the registry answers for each now.</summary>
    public Dictionary<string, System.Net.HttpStatusCode> ScenarioDanglingTags { get; } = [];

    private List<string> LostAcknowledged => driver.Acknowledged.Keys.Where(id => !processed.Contains(id)).ToList();

    private List<PushedImage> WithoutVerdict => pushed.Where(p => !verdicts.ContainsKey((p.Repository, p.Digest))).ToList();

    private List<string> Broken => verdicts.Where(v => v.Value == "broken").Select(v => $"{v.Key.Repository}@{v.Key.Digest}").ToList();

    public string Summary()
    {
        var triedAndProcessed = driver.Tried.Keys.Count(processed.Contains);
        var refused = string.Join(", ", driver.RefusedByStatus.OrderBy(p => p.Key).Select(p => $"{p.Key}x{p.Value}"));
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"## {name}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- direct posts: tried {driver.Tried.Count}, acknowledged 2xx {driver.Acknowledged.Count}, processed {triedAndProcessed}, acknowledged but not processed {LostAcknowledged.Count}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- refused answers (status x count): {(refused.Length == 0 ? "none" : refused)}; connection failures/timeouts: {driver.PostFailures}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- registry pushes: {pushed.Count} manifests pushed (push failures {driver.PushFailures}), without a verdict after draining: {WithoutVerdict.Count}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- event ids twice in verdict_history: {duplicatedInHistory.Count}; broken manifests: {Broken.Count} (gauge {BrokenGauge}); dangling tags: {(ScenarioDanglingTags.Count == 0 ? "none" : string.Join(", ", ScenarioDanglingTags.Select(t => $"{t.Key} (registry now: {(int)t.Value})")))}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- fault lasted {faultDuration.TotalSeconds:F1} s; drained {drainTime.TotalSeconds:F1} s after it ended{(replayed ? " (after running replay-errors: retries were exhausted)" : " (consumer retries alone)")}");
        if (watch is not null)
            s.AppendLine(CultureInfo.InvariantCulture, $"- readiness: first not ready at {Seconds(watch.FirstNotReady)}, ready again at {Seconds(watch.ReadyAgain)} (since the watch started), ready at the end: {watch.Ready}");
        return s.ToString();
    }

    public void AssertInvariants()
    {
        var context = $"{Summary()}\n--- listener ---\n{Tail(product.Listener.Output)}\n--- verifier ---\n{Tail(product.Verifier.Output)}";
        Assert.True(driver.Acknowledged.Count > 0, context);
        Assert.True(LostAcknowledged.Count == 0, $"acknowledged but never processed: {string.Join(", ", LostAcknowledged.Take(10))}\n{context}");
        // The driver retries until acknowledged, so every id it tried and processed is an acknowledged one: the sets are equal.
        Assert.True(driver.Tried.Count == driver.Acknowledged.Count, $"the driver gave up on some events\n{context}");
        Assert.Equal(driver.Acknowledged.Keys.ToHashSet(), driver.Tried.Keys.Where(processed.Contains).ToHashSet());
        Assert.True(WithoutVerdict.Count == 0, $"pushed without a verdict: {string.Join(", ", WithoutVerdict.Take(10).Select(p => $"{p.Repository}@{p.Digest}"))}\n{context}");
        Assert.True(duplicatedInHistory.Count == 0, $"event ids stored twice in verdict_history: {string.Join(", ", duplicatedInHistory.Take(10))}\n{context}");
        Assert.True(Broken.Count == 0, $"intact images marked broken: {string.Join(", ", Broken.Take(10))}\n{context}");
        // A registry stopped between the two writes of a tag (its index link, then its current link) leaves
        // a listed tag whose manifest answers 404: truly broken, so it may be reported, but only for a push the
        // fault cut, and only while the registry still answers 404 for it.
        var cutPushes = driver.FailedPushTags.ToHashSet(StringComparer.Ordinal);
        Assert.True(ScenarioDanglingTags.Keys.All(cutPushes.Contains),
            $"dangling tags that no failed push explains: {string.Join(", ", ScenarioDanglingTags.Keys.Where(t => !cutPushes.Contains(t)))}\n{context}");
        Assert.True(ScenarioDanglingTags.Values.All(status => status == System.Net.HttpStatusCode.NotFound),
            $"dangling tags the registry resolves: {string.Join(", ", ScenarioDanglingTags.Where(t => t.Value != System.Net.HttpStatusCode.NotFound).Select(t => t.Key))}\n{context}");
        Assert.Equal(Broken.Count + DanglingTags.Count, BrokenGauge);
        if (watch is not null)
        {
            Assert.True(watch.FirstNotReady is not null, $"readiness never went not-ready during the fault\n{context}");
            Assert.True(watch.Ready, $"not ready again after the fault\n{context}");
        }
    }

    private static string Seconds(TimeSpan? t) => t is { } value ? $"{value.TotalSeconds:F1} s" : "never";

    private static string Tail(string text) => text.Length > 6000 ? text[^6000..] : text;
}
