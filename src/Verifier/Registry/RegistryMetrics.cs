using Prometheus;

namespace RegistryIntegrity.Verifier.Registry;

public sealed class RegistryMetrics
{
    private static readonly Counter Requests = Metrics.CreateCounter(
        "registry_integrity_registry_requests_total",
        "Requests the verifier sent to the registry, by kind (manifest, blob_get, blob_head) and status code (or error).",
        "kind", "code");

    public void CountRequest(string kind, string code) => Requests.WithLabels(kind, code).Inc();
}
