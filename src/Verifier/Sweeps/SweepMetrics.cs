using Prometheus;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Sweeps;

public sealed class SweepMetrics(VerifierMetricsRegistry metrics)
{
    private readonly Counter _manifestsChecked = metrics.Factory.CreateCounter(
        "registry_integrity_sweep_manifests_checked_total", "Manifest trees walked by sweeps.");

    private readonly Gauge _cycle = metrics.Factory.CreateGauge(
        "registry_integrity_sweep_cycle_seconds", "The scheduled sweep cycle now in force.");

    private readonly Gauge _lastCompleted = metrics.Factory.CreateGauge(
        "registry_integrity_sweep_last_completed_timestamp_seconds", "Unix time the last sweep completed (from the store: same on every replica).");

    private readonly Gauge _lastDuration = metrics.Factory.CreateGauge(
        "registry_integrity_sweep_duration_seconds", "Duration of the last completed sweep.");

    private readonly Gauge _catalogAccessible = metrics.Factory.CreateGauge(
        "registry_integrity_catalog_accessible", "1 when the last sweep could read the registry's catalog, 0 when it could not.");

    private readonly Gauge _repositories = metrics.Factory.CreateGauge(
        "registry_integrity_repositories", "Repositories the store knows (with live manifests or tags).");

    public void CountManifestsChecked(int count) => _manifestsChecked.Inc(count);

    public void SetCycle(TimeSpan cycle) => _cycle.Set(cycle.TotalSeconds);

    public void RefreshBeforeEachScrape(ISweepStore store) =>
        metrics.Registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            if (await store.GetLatestSweepAsync(completedOnly: true, cancellationToken) is { CompletedAt: { } completed } last)
            {
                _lastCompleted.Set(completed.ToUnixTimeMilliseconds() / 1000.0);
                _lastDuration.Set((completed - last.StartedAt).TotalSeconds);
            }
            _repositories.Set(await store.CountRepositoriesAsync(cancellationToken));
            if (await store.GetLatestSweepAsync(completedOnly: false, cancellationToken) is { EnumeratedAt: not null } latest)
                _catalogAccessible.Set(latest.CatalogError is null ? 1 : 0);
        });
}
