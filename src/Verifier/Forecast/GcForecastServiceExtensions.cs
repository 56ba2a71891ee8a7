namespace RegistryIntegrity.Verifier.Forecast;

public static class GcForecastServiceExtensions
{
    /// <summary>The forecast from the verdict store, its API's service and the gauge kept current in the background.</summary>
    public static IServiceCollection AddGcForecast(this IServiceCollection services)
    {
        services.AddOptions<GcForecastOptions>().BindConfiguration(GcForecastOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(provider => new VerifierStart(provider.GetRequiredService<TimeProvider>().GetUtcNow()));
        // The exact source, a reader of the registry's own storage, replaces this one where the storage is readable.
        services.AddSingleton<IGcGraphSource, StoreGraphSource>();
        services.AddSingleton<GcForecastService>();
        services.AddHostedService<GcForecastMetrics>();
        return services;
    }
}
