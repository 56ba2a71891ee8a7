using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.RegistryStorage;

public static class RegistryStorageServiceExtensions
{
    /// <summary>
    /// With <c>RegistryStorage:Root</c> set, sweeps read the registry's storage instead of its API (events are still
    /// walked through the API: the storage may lag nothing, but the API is what clients pull from).
    /// </summary>
    public static IServiceCollection AddRegistryStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RegistryStorageOptions>().BindConfiguration(RegistryStorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        var root = configuration[$"{RegistryStorageOptions.SectionName}:{nameof(RegistryStorageOptions.Root)}"];
        if (string.IsNullOrWhiteSpace(root))
            return services;
        services.AddSingleton<IRegistryStorage>(new FileSystemRegistryStorage(root));
        services.Replace(ServiceDescriptor.Transient<ISweepSource>(provider => new StorageSweepSource(
            provider.GetRequiredService<IRegistryStorage>(),
            provider.GetRequiredService<IOptions<RegistryStorageOptions>>().Value.MaxManifestBytes,
            provider.GetRequiredService<TimeProvider>())));
        return services;
    }

    /// <summary>The <c>fsck</c> verb's services: the storage at <paramref name="root"/>, the store, the sweep's rules; no registry, no bus.</summary>
    internal static IServiceCollection AddStorageScan(this IServiceCollection services, string root)
    {
        services.AddOptions<RegistryStorageOptions>().BindConfiguration(RegistryStorageOptions.SectionName).ValidateDataAnnotations();
        services.AddSingleton<IRegistryStorage>(new FileSystemRegistryStorage(root));
        services.AddTransient(provider => new Verification.ManifestWalker(registry: null, provider.GetRequiredService<TimeProvider>()));
        services.AddTransient<StorageScan>();
        return services;
    }
}
