using Microsoft.Extensions.DependencyInjection.Extensions;
using RegistryIntegrity.Hosting;

namespace RegistryIntegrity.Verifier.Monitoring;

/// <summary>
/// The Verifier's Prometheus registry, one per service provider, with every meter (MassTransit's,
/// ASP.NET Core's, HttpClient's), as the process-wide default registry exported them before.
/// </summary>
public sealed class VerifierMetricsRegistry() : ServiceMetricsRegistry(exportInstrument: null);

public static class VerifierMetricsServiceExtensions
{
    /// <summary>The one <see cref="VerifierMetricsRegistry"/> of this provider; every area that has metrics asks for it.</summary>
    public static IServiceCollection AddVerifierMetricsRegistry(this IServiceCollection services)
    {
        services.TryAddSingleton<VerifierMetricsRegistry>();
        return services;
    }
}
