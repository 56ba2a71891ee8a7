using System.ComponentModel.DataAnnotations;

namespace RegistryIntegrity.Verifier.Forecast;

public sealed class GcForecastOptions
{
    public const string SectionName = "GcForecast";

    /// <summary>The registry's version family (<c>2.8</c> or <c>3</c>): the gauge forecasts GC for it, in both modes.</summary>
    [RegularExpression(@"^(2\.8|3)$", ErrorMessage = "GcForecast:RegistryVersion must be 2.8 or 3")]
    public string RegistryVersion { get; set; } = "2.8";

    /// <summary>How often the gauge's forecast is recomputed when the store changed (events, sweeps).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Above this many live manifests the gauge is not kept (NaN, a warning): a forecast holds the whole graph in memory,
    /// about 5 KB per manifest measured (5 GiB at a million), and repeats as the store changes. <c>GET /v1/gc-forecast</c>
    /// still answers on demand. Raise it together with the Verifier's memory limit; 0 removes the bound.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int GaugeMaxManifests { get; set; } = 50_000;

    public GcVersion Version => RegistryVersion == "3" ? GcVersion.V3 : GcVersion.V2_8;
}
