using Prometheus;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.RegistryStorageWatchers;

public sealed class StorageWatcherMetrics
{
    public const string Silent = "silent";

    private readonly VerifierMetricsRegistry _metrics;
    private readonly Gauge _watchers;

    public StorageWatcherMetrics(VerifierMetricsRegistry metrics)
    {
        _metrics = metrics;
        _watchers = metrics.Factory.CreateGauge("registry_integrity_storage_watchers",
            "Storage watchers heard within the last day, by state: watching, not-watching, or silent (not heard for 3 heartbeat intervals). From the store: same on every replica.",
            "state");
        foreach (var state in States)
            _watchers.WithLabels(state).Set(0);
    }

    private static readonly string[] States = [RegistryStorageWatcherStates.Watching, RegistryStorageWatcherStates.NotWatching, Silent];

    public void RefreshBeforeEachScrape(HeardStorageWatchers watchers) =>
        _metrics.Registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            var listed = await watchers.ListAsync(cancellationToken);
            foreach (var state in States)
                _watchers.WithLabels(state).Set(listed.Count(w => (w.Silent ? Silent : w.State) == state));
        });
}
