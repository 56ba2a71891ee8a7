using Prometheus;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>
/// The verifier's metrics. Current counts come from the store at scrape time, so every replica
/// reports the same numbers and nothing is double counted.
/// </summary>
public sealed class VerifierMetrics(VerifierMetricsRegistry metrics)
{
    private readonly Counter _verifications = metrics.Factory.CreateCounter(
        "registry_integrity_verifications_total", "Manifest trees verified, by result.", ["result"]);

    private readonly Histogram _eventToVerdict = metrics.Factory.CreateHistogram(
        "registry_integrity_event_to_verdict_seconds",
        "From the registry's event timestamp to the stored verdict.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    private readonly Histogram _walkDuration = metrics.Factory.CreateHistogram(
        "registry_integrity_walk_duration_seconds",
        "Time to walk one manifest tree against the registry.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    private readonly Gauge _brokenManifests = metrics.Factory.CreateGauge(
        "registry_integrity_broken_manifests", "Live manifests whose verdict is broken, plus tags that point to a missing manifest.");

    private readonly Gauge _indeterminateManifests = metrics.Factory.CreateGauge(
        "registry_integrity_indeterminate_manifests",
        "Live manifests whose latest walk could not reach a verdict (a healthy or broken verdict from before is kept, and counted as stale).");

    private readonly Gauge _staleVerdicts = metrics.Factory.CreateGauge(
        "registry_integrity_stale_verdicts", "Healthy or broken verdicts kept while the walks since could not reach the registry.");

    private readonly Gauge _staleSince = metrics.Factory.CreateGauge(
        "registry_integrity_stale_since_timestamp_seconds", "When the oldest stale verdict's walks started failing; 0 when no verdict is stale.");

    private readonly Gauge _danglingTags = metrics.Factory.CreateGauge(
        "registry_integrity_dangling_tags", "Tags the registry lists whose manifest answers 404 (included in registry_integrity_broken_manifests).");

    private readonly Gauge _missingObjects = metrics.Factory.CreateGauge(
        "registry_integrity_missing_objects", "Objects (child manifests, configs, layers) missing from broken manifests.");

    public void CountVerification(VerdictResult result) => _verifications.WithLabels(result.ToString().ToLowerInvariant()).Inc();

    public void ObserveWalk(TimeSpan duration) => _walkDuration.Observe(duration.TotalSeconds);

    public void ObserveEventToVerdict(TimeSpan latency) => _eventToVerdict.Observe(Math.Max(0, latency.TotalSeconds));

    public void RefreshCountsBeforeEachScrape(IVerdictStore store) =>
        metrics.Registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            var counts = await store.CountVerdictsAsync(cancellationToken);
            _brokenManifests.Set(counts.Broken);
            _indeterminateManifests.Set(counts.Indeterminate);
            _staleVerdicts.Set(counts.Stale);
            _staleSince.Set(counts.StaleSince?.ToUnixTimeMilliseconds() / 1000.0 ?? 0);
            _danglingTags.Set(counts.DanglingTags);
            _missingObjects.Set(counts.MissingObjects);
        });
}
