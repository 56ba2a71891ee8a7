using Microsoft.Extensions.DependencyInjection.Extensions;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.Sweeps;

public static class SweepServiceExtensions
{
    /// <summary>Sweep scheduling and execution (the scheduler itself is only hosted by the service).</summary>
    public static IServiceCollection AddSweeps(this IServiceCollection services)
    {
        services.AddRabbitMqOptions();
        services.AddOptions<SweepOptions>().BindConfiguration(SweepOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddVerifierMetricsRegistry();
        services.AddSingleton<SweepMetrics>();
        services.AddSingleton<KnownRegistryInstances>();
        services.AddSingleton<QueueAddresses>();
        services.AddScoped<SweepRequester>();
        services.AddTransient<RepositorySweeper>();
        services.TryAddTransient<ISweepSource, RegistrySweepSource>();
        return services;
    }
}
