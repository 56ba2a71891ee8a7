using Prometheus;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>
/// The verifier's metrics. Current counts come from the store at scrape time, so every replica
/// reports the same numbers and nothing is double counted.
/// </summary>
public sealed class VerifierMetrics
{
    private static readonly Counter Verifications = Metrics.CreateCounter(
        "registry_integrity_verifications_total", "Manifest trees verified, by result.", "result");

    private static readonly Histogram EventToVerdict = Metrics.CreateHistogram(
        "registry_integrity_event_to_verdict_seconds",
        "From the registry's event timestamp to the stored verdict.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    private static readonly Histogram WalkDuration = Metrics.CreateHistogram(
        "registry_integrity_walk_duration_seconds",
        "Time to walk one manifest tree against the registry.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    private static readonly Gauge BrokenManifests = Metrics.CreateGauge(
        "registry_integrity_broken_manifests", "Live manifests whose verdict is broken, plus tags that point to a missing manifest.");

    private static readonly Gauge IndeterminateManifests = Metrics.CreateGauge(
        "registry_integrity_indeterminate_manifests",
        "Live manifests whose latest walk could not reach a verdict (a healthy or broken verdict from before is kept, and counted as stale).");

    private static readonly Gauge StaleVerdicts = Metrics.CreateGauge(
        "registry_integrity_stale_verdicts", "Healthy or broken verdicts kept while the walks since could not reach the registry.");

    private static readonly Gauge StaleSince = Metrics.CreateGauge(
        "registry_integrity_stale_since_timestamp_seconds", "When the oldest stale verdict's walks started failing; 0 when no verdict is stale.");

    private static readonly Gauge DanglingTags = Metrics.CreateGauge(
        "registry_integrity_dangling_tags", "Tags the registry lists whose manifest answers 404 (included in registry_integrity_broken_manifests).");

    private static readonly Gauge MissingObjects = Metrics.CreateGauge(
        "registry_integrity_missing_objects", "Objects (child manifests, configs, layers) missing from broken manifests.");

    public void CountVerification(VerdictResult result) => Verifications.WithLabels(result.ToString().ToLowerInvariant()).Inc();

    public void ObserveWalk(TimeSpan duration) => WalkDuration.Observe(duration.TotalSeconds);

    public void ObserveEventToVerdict(TimeSpan latency) => EventToVerdict.Observe(Math.Max(0, latency.TotalSeconds));

    public static void RefreshCountsBeforeEachScrape(IVerdictStore store) =>
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancellationToken =>
        {
            var counts = await store.CountVerdictsAsync(cancellationToken);
            BrokenManifests.Set(counts.Broken);
            IndeterminateManifests.Set(counts.Indeterminate);
            StaleVerdicts.Set(counts.Stale);
            StaleSince.Set(counts.StaleSince?.ToUnixTimeMilliseconds() / 1000.0 ?? 0);
            DanglingTags.Set(counts.DanglingTags);
            MissingObjects.Set(counts.MissingObjects);
        });
}
