using Prometheus;
using RegistryIntegrity.Hosting;

namespace RegistryIntegrity.Listener.Monitoring;

public static class EventOutcomes
{
    public const string Published = "published";
    public const string Ignored = "ignored";
    public const string Quarantined = "quarantined";
    public const string Rejected = "rejected";
}

/// <summary>
/// The Listener's Prometheus metrics, in a registry of its own (served on <c>/metrics</c>) so that
/// two Listeners in one process, as in tests, never share counters. MassTransit's meters are
/// exported into the same registry (as <c>masstransit_messaging_masstransit_*</c>).
/// </summary>
public sealed class ListenerMetrics : IDisposable
{
    private readonly ServiceMetricsRegistry _metrics = new(instrument => instrument.Meter.Name == "MassTransit");

    public ListenerMetrics()
    {
        var factory = _metrics.Factory;

        Events = factory.CreateCounter(
            "registry_integrity_listener_events_total",
            "Registry events received, by action (push, pull, mount, delete, unknown) and outcome (published, ignored, quarantined, rejected).",
            "action", "outcome");
        RequestDuration = factory.CreateHistogram(
            "registry_integrity_listener_request_duration_seconds",
            "Time to answer one notification POST, broker confirm included.",
            new HistogramConfiguration { LabelNames = ["code"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });
        PublishFailures = factory.CreateCounter(
            "registry_integrity_listener_publish_failures_total",
            "Notifications answered 503 because the broker did not confirm in time (events or quarantine).");
        EventsQueueFull = factory.CreateCounter(
            "registry_integrity_listener_events_queue_full_total",
            "Notifications answered 503 because the broker refused their events: registry-integrity-events is at its maximum length (RabbitMq:EventsQueueMaxLength).");
        BrokerReachable = factory.CreateGauge(
            "registry_integrity_listener_broker_reachable",
            "1 when the last readiness check reached RabbitMQ and the events queue, 0 when it did not (the Listener is then not ready, and the registry's notifications reach no Listener).");
        LastEventTimestamp = factory.CreateGauge(
            "registry_integrity_listener_last_event_timestamp_seconds",
            "Unix time of the last registry event published (the registry's own timestamp).");
        SourceInstanceChanges = factory.CreateCounter(
            "registry_integrity_listener_source_instance_changes_total",
            "Registry instance ids (source.instanceID) that replaced one this Listener had seen. Each registry restart adds one: events queued in the old instance may be lost, a sweep is due.");
        LastSourceInstanceChange = factory.CreateGauge(
            "registry_integrity_listener_last_source_instance_change_timestamp_seconds",
            "Unix time at which the Listener first saw the newest registry instance id.");
    }

    public CollectorRegistry Registry => _metrics.Registry;

    public Counter Events { get; }

    public Histogram RequestDuration { get; }

    public Counter PublishFailures { get; }

    public Counter EventsQueueFull { get; }

    public Gauge BrokerReachable { get; }

    public Gauge LastEventTimestamp { get; }

    public Counter SourceInstanceChanges { get; }

    public Gauge LastSourceInstanceChange { get; }

    public void Dispose() => _metrics.Dispose();
}
