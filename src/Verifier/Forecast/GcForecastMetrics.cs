using Dapper;
using Microsoft.Extensions.Options;
using Prometheus;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Store.Dapper;

namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>
/// Keeps <c>registry_integrity_gc_forecast_broken_images{mode,version}</c> current: whenever the store changed
/// (see <see cref="StoreGraphSource.ChangeMarkerAsync"/>), within <see cref="GcForecastOptions.RefreshInterval"/>,
/// both modes are forecast again for the configured registry version. NaN while the graph is incomplete.
/// </summary>
public sealed class GcForecastMetrics(
    GcForecastService forecasts, StoreGraphSource storeGraph, IDbConnectionFactory connections, IOptions<GcForecastOptions> options, VerifierStart start,
    TimeProvider time, VerifierMetricsRegistry metrics, ILogger<GcForecastMetrics> logger) : BackgroundService
{
    private readonly Gauge _brokenImages = metrics.Factory.CreateGauge(
        "registry_integrity_gc_forecast_broken_images",
        "Tagged images that the next garbage-collect in this mode would leave unpullable (whole today, not after); NaN while the stored graph is incomplete.",
        ["mode", "version"]);

    private readonly Gauge _deletedBlobs = metrics.Factory.CreateGauge(
        "registry_integrity_gc_forecast_deleted_blobs", "Blobs the next garbage-collect in this mode would delete, as the store knows them; NaN while incomplete.",
        ["mode", "version"]);

    private readonly Gauge _computedAt = metrics.Factory.CreateGauge(
        "registry_integrity_gc_forecast_timestamp_seconds", "When the GC forecast was last computed.");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _ = start; // resolved now: the process start is recorded before the first forecast
        string? lastMarker = null;
        var version = options.Value.Version;
        var wait = options.Value.RefreshInterval;
        var warnedTooLarge = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var marker = await storeGraph.ChangeMarkerAsync(stoppingToken);
                if (marker != lastMarker && await LiveManifestsAsync(stoppingToken) is var live
                    && options.Value.GaugeMaxManifests > 0 && live > options.Value.GaugeMaxManifests)
                {
                    if (!warnedTooLarge)
                        logger.LogWarning(
                            "The GC forecast gauge is not kept: {Live} live manifests exceed GcForecast:GaugeMaxManifests ({Max}); GET /v1/gc-forecast still answers on demand",
                            live, options.Value.GaugeMaxManifests);
                    warnedTooLarge = true;
                    foreach (var mode in new[] { GcMode.Plain, GcMode.DeleteUntagged })
                    {
                        _brokenImages.WithLabels(GcForecaster.ModeName(mode), GcForecaster.VersionName(version)).Set(double.NaN);
                        _deletedBlobs.WithLabels(GcForecaster.ModeName(mode), GcForecaster.VersionName(version)).Set(double.NaN);
                    }
                    lastMarker = marker;
                }
                else if (marker != lastMarker)
                {
                    var started = time.GetTimestamp();
                    foreach (var forecast in await forecasts.ForecastAsync([(GcMode.Plain, version), (GcMode.DeleteUntagged, version)], stoppingToken))
                    {
                        var complete = forecast.Result != GcForecast.Incomplete;
                        _brokenImages.WithLabels(forecast.Mode, forecast.Version).Set(complete ? forecast.Summary.TaggedImagesBroken : double.NaN);
                        _deletedBlobs.WithLabels(forecast.Mode, forecast.Version).Set(complete ? forecast.Summary.BlobsDeleted : double.NaN);
                    }
                    _computedAt.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
                    lastMarker = marker;
                    // A forecast that took long is not repeated at once: the store changes all the time on a busy registry.
                    var took = time.GetElapsedTime(started);
                    wait = TimeSpan.FromTicks(Math.Max(options.Value.RefreshInterval.Ticks, took.Ticks * 5));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "The GC forecast could not be computed; trying again in {Interval}", options.Value.RefreshInterval);
            }
            await Task.Delay(wait, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task<long> LiveManifestsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM manifests WHERE deleted_ms IS NULL", cancellationToken: cancellationToken));
    }
}
