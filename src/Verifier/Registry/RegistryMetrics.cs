using Prometheus;
using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.Registry;

public sealed class RegistryMetrics(VerifierMetricsRegistry metrics)
{
    private readonly Counter _requests = metrics.Factory.CreateCounter(
        "registry_integrity_registry_requests_total",
        "Requests the verifier sent to the registry, by kind (manifest, manifest_head, blob_get, blob_head, ping) and status code (or error).",
        ["kind", "code"]);

    private readonly Gauge _up = metrics.Factory.CreateGauge(
        "registry_integrity_registry_up",
        "1 when the registry answered the verifier's last request (any status below 500), 0 when it was unreachable, timed out or failed.");

    public void CountRequest(string kind, string code) => _requests.WithLabels(kind, code).Inc();

    public void ObserveRegistry(bool answered) => _up.Set(answered ? 1 : 0);
}
