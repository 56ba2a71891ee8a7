using System.Diagnostics.Metrics;
using Prometheus;

namespace RegistryIntegrity.Hosting;

/// <summary>
/// A service's own Prometheus registry (served on its <c>/metrics</c>), so that two services in one
/// process, as in tests, never share metrics or scrape callbacks. It carries the process and .NET
/// stats (<c>process_start_time_seconds</c> is used by the alert rules) and the service's meters.
/// </summary>
/// <remarks>
/// prometheus-net's meter adapter keeps instrument names in a static table that a disposed adapter
/// clears: with several services in one process, the meters are reliable only in the one started
/// last. A deployed service is alone in its process.
/// </remarks>
public class ServiceMetricsRegistry : IDisposable
{
    private readonly IDisposable _meterAdapter;

    /// <param name="exportInstrument">Which meters' instruments to export; all when null.</param>
    public ServiceMetricsRegistry(Func<Instrument, bool>? exportInstrument = null)
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);
        var options = new MeterAdapterOptions
        {
            Registry = Registry,
            // prometheus-net 8.2.1 ignores Registry and writes to the default registry unless the factory is given too.
            MetricFactory = Factory,
        };
        if (exportInstrument is not null)
            options.InstrumentFilterPredicate = exportInstrument;
        _meterAdapter = MeterAdapter.StartListening(options);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Creates the service's metrics in <see cref="Registry"/>.</summary>
    public MetricFactory Factory { get; }

    public void Dispose()
    {
        _meterAdapter.Dispose();
        GC.SuppressFinalize(this);
    }
}
