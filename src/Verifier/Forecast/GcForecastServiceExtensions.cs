using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.RegistryStorage;

namespace RegistryIntegrity.Verifier.Forecast;

public static class GcForecastServiceExtensions
{
    /// <summary>The forecast from the registry's storage when <c>RegistryStorage:Root</c> is set, else from the verdict store; its API's service and the gauge kept current in the background.</summary>
    public static IServiceCollection AddGcForecast(this IServiceCollection services)
    {
        services.AddOptions<GcForecastOptions>().BindConfiguration(GcForecastOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(provider => new VerifierStart(provider.GetRequiredService<TimeProvider>().GetUtcNow()));
        services.AddSingleton(provider => ActivatorUtilities.CreateInstance<StoreGraphSource>(provider));
        // The exact source where the registry's storage is readable (RegistryStorage:Root registers it), else the store.
        services.AddSingleton<IGcGraphSource>(provider => provider.GetService<IRegistryStorage>() is { } storage
            ? new StorageGraphSource(storage, provider.GetRequiredService<IOptions<RegistryStorageOptions>>().Value.MaxManifestBytes)
            : provider.GetRequiredService<StoreGraphSource>());
        services.AddSingleton<GcForecastService>();
        services.AddVerifierMetricsRegistry();
        services.AddHostedService<GcForecastMetrics>();
        return services;
    }
}
