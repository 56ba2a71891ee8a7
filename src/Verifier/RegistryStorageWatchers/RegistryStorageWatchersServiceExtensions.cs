using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.RegistryStorageWatchers;

public static class RegistryStorageWatchersServiceExtensions
{
    /// <summary>The storage watchers' reports: their store, the list the status shows and the gauge (the verdict store's database is composed elsewhere).</summary>
    public static IServiceCollection AddRegistryStorageWatchers(this IServiceCollection services)
    {
        services.AddVerifierMetricsRegistry();
        services.AddSingleton<IStorageWatcherReportStore, DapperStorageWatcherReportStore>();
        services.AddSingleton<HeardStorageWatchers>();
        services.AddSingleton<StorageWatcherMetrics>();
        return services;
    }
}
