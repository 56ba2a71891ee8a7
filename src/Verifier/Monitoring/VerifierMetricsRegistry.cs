using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;

namespace RegistryIntegrity.Verifier.Monitoring;

/// <summary>
/// The Verifier's Prometheus registry, one per service provider (served on <c>/metrics</c>), as the
/// Listener's: two Verifiers in one process, as in tests, never share metrics or scrape callbacks.
/// It carries the process and .NET stats (<c>process_start_time_seconds</c> is used by the alert
/// rules) and the meters (MassTransit's, ASP.NET Core's, HttpClient's), which the process-wide
/// default registry exported before.
/// </summary>
/// <remarks>
/// prometheus-net's meter adapter keeps instrument names in a static table that a disposed adapter
/// clears: with several Verifiers in one process, the meters are reliable only in the one started
/// last. A deployed Verifier is alone in its process.
/// </remarks>
public sealed class VerifierMetricsRegistry : IDisposable
{
    private readonly IDisposable _meterAdapter;

    public VerifierMetricsRegistry()
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);
        _meterAdapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            // prometheus-net 8.2.1 ignores Registry and writes to the default registry unless the factory is given too.
            MetricFactory = Factory,
        });
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Creates the Verifier's metrics in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    public void Dispose() => _meterAdapter.Dispose();
}

public static class VerifierMetricsServiceExtensions
{
    /// <summary>The one <see cref="VerifierMetricsRegistry"/> of this provider; every area that has metrics asks for it.</summary>
    public static IServiceCollection AddVerifierMetricsRegistry(this IServiceCollection services)
    {
        services.TryAddSingleton<VerifierMetricsRegistry>();
        return services;
    }
}
