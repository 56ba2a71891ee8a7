using Prometheus;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Sweeps;

public sealed class SweepMetrics
{
    private static readonly Counter ManifestsChecked = Metrics.CreateCounter(
        "registry_integrity_sweep_manifests_checked_total", "Manifest trees walked by sweeps.");

    private static readonly Gauge Cycle = Metrics.CreateGauge(
        "registry_integrity_sweep_cycle_seconds", "The scheduled sweep cycle now in force.");

    private static readonly Gauge LastCompleted = Metrics.CreateGauge(
        "registry_integrity_sweep_last_completed_timestamp_seconds", "Unix time the last sweep completed (from the store: same on every replica).");

    private static readonly Gauge LastDuration = Metrics.CreateGauge(
        "registry_integrity_sweep_duration_seconds", "Duration of the last completed sweep.");

    private static readonly Gauge CatalogAccessible = Metrics.CreateGauge(
        "registry_integrity_catalog_accessible", "1 when the last sweep could read the registry's catalog, 0 when it could not.");

    private static readonly Gauge Repositories = Metrics.CreateGauge(
        "registry_integrity_repositories", "Repositories the store knows (with live manifests or tags).");

    public void CountManifestsChecked(int count) => ManifestsChecked.Inc(count);

    public void SetCycle(TimeSpan cycle) => Cycle.Set(cycle.TotalSeconds);

    public static void RefreshBeforeEachScrape(ISweepStore store) =>
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancellationToken =>
        {
            if (await store.GetLatestSweepAsync(completedOnly: true, cancellationToken) is { CompletedAt: { } completed } last)
            {
                LastCompleted.Set(completed.ToUnixTimeMilliseconds() / 1000.0);
                LastDuration.Set((completed - last.StartedAt).TotalSeconds);
            }
            Repositories.Set(await store.CountRepositoriesAsync(cancellationToken));
            if (await store.GetLatestSweepAsync(completedOnly: false, cancellationToken) is { EnumeratedAt: not null } latest)
                CatalogAccessible.Set(latest.CatalogError is null ? 1 : 0);
        });
}
