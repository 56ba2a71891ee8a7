using Prometheus;

namespace RegistryIntegrity.Verifier.Registry;

public sealed class RegistryMetrics
{
    private static readonly Counter Requests = Metrics.CreateCounter(
        "registry_integrity_registry_requests_total",
        "Requests the verifier sent to the registry, by kind (manifest, manifest_head, blob_get, blob_head, ping) and status code (or error).",
        "kind", "code");

    private static readonly Gauge Up = Metrics.CreateGauge(
        "registry_integrity_registry_up",
        "1 when the registry answered the verifier's last request (any status below 500), 0 when it was unreachable, timed out or failed.");

    public void CountRequest(string kind, string code) => Requests.WithLabels(kind, code).Inc();

    public void ObserveRegistry(bool answered) => Up.Set(answered ? 1 : 0);
}
