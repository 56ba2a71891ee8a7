namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>Reads the graph once and forecasts one or more GC runs over it.</summary>
public sealed class GcForecastService(IGcGraphSource source, TimeProvider time)
{
    public async Task<IReadOnlyList<GcForecast>> ForecastAsync(IReadOnlyList<(GcMode Mode, GcVersion Version)> runs, CancellationToken cancellationToken)
    {
        var (graph, completeness) = await source.ReadAsync(cancellationToken);
        var now = time.GetUtcNow();
        return [.. runs.Select(run => GcForecaster.Forecast(graph, completeness, run.Mode, run.Version, source.Name, now))];
    }

    public async Task<GcForecast> ForecastAsync(GcMode mode, GcVersion version, CancellationToken cancellationToken) =>
        (await ForecastAsync([(mode, version)], cancellationToken))[0];
}
