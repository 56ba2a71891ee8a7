using Prometheus;

namespace RegistryIntegrity.Verifier.Repair;

public sealed class RepairMetrics
{
    private static readonly Counter Repairs = Metrics.CreateCounter(
        "registry_integrity_repairs_total",
        "Broken manifests a repair handled, by result (repaired, still-broken, indeterminate, nothing-to-do; dry runs: repairable, not-repairable).",
        "result");

    private static readonly Counter CopiedObjects = Metrics.CreateCounter(
        "registry_integrity_repair_copied_objects_total", "Objects a repair copied into the registry, by kind (blob, manifest).", "kind");

    private static readonly Counter CopiedBytes = Metrics.CreateCounter(
        "registry_integrity_repair_copied_bytes_total", "Bytes a repair copied into the registry.");

    public void CountRepair(string result) => Repairs.WithLabels(result).Inc();

    public void CountCopy(RepairObjectKind kind, long bytes)
    {
        CopiedObjects.WithLabels(kind == RepairObjectKind.Blob ? "blob" : "manifest").Inc();
        CopiedBytes.Inc(bytes);
    }
}
