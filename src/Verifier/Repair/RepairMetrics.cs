using Prometheus;
using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.Repair;

public sealed class RepairMetrics(VerifierMetricsRegistry metrics)
{
    private readonly Counter _repairs = metrics.Factory.CreateCounter(
        "registry_integrity_repairs_total",
        "Broken manifests a repair handled, by result (repaired, still-broken, indeterminate, nothing-to-do; dry runs: repairable, not-repairable).",
        ["result"]);

    private readonly Counter _copiedObjects = metrics.Factory.CreateCounter(
        "registry_integrity_repair_copied_objects_total", "Objects a repair copied into the registry, by kind (blob, manifest).", ["kind"]);

    private readonly Counter _copiedBytes = metrics.Factory.CreateCounter(
        "registry_integrity_repair_copied_bytes_total", "Bytes a repair copied into the registry.");

    public void CountRepair(string result) => _repairs.WithLabels(result).Inc();

    public void CountCopy(RepairObjectKind kind, long bytes)
    {
        _copiedObjects.WithLabels(kind == RepairObjectKind.Blob ? "blob" : "manifest").Inc();
        _copiedBytes.Inc(bytes);
    }
}
