using Prometheus;

namespace RegistryIntegrity.Listener;

internal static class ListenerMetrics
{
    public static readonly Counter Events = Metrics.CreateCounter(
        "registry_integrity_listener_events_total",
        "Registry events received, by action and outcome (published, ignored, quarantined, rejected).",
        "action", "outcome");

    public static readonly Histogram RequestDuration = Metrics.CreateHistogram(
        "registry_integrity_listener_request_duration_seconds",
        "Time to answer one notification POST, broker confirm included.",
        new HistogramConfiguration
        {
            LabelNames = ["code"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14),
        });

    public static readonly Counter PublishFailures = Metrics.CreateCounter(
        "registry_integrity_listener_publish_failures_total",
        "Notifications answered 503 because the broker did not confirm in time.");

    public static readonly Gauge LastEventTimestamp = Metrics.CreateGauge(
        "registry_integrity_listener_last_event_timestamp_seconds",
        "Unix time of the last registry event published (the registry's own timestamp).");
}
