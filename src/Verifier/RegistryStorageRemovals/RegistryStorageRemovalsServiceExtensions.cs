namespace RegistryIntegrity.Verifier.RegistryStorageRemovals;

public static class RegistryStorageRemovalsServiceExtensions
{
    /// <summary>What the consumer of the storage watcher's removals needs (the verdict store and verification are composed elsewhere).</summary>
    public static IServiceCollection AddRegistryStorageRemovals(this IServiceCollection services)
    {
        services.AddSingleton<RegistryStorageRemovalStore>();
        services.AddTransient<RegistryStorageRemovalHandler>();
        return services;
    }
}
