using System.ComponentModel.DataAnnotations;

namespace RegistryIntegrity.Verifier.Sweeps;

public sealed class SweepOptions
{
    public const string SectionName = "Sweep";

    /// <summary>Run scheduled sweeps. Sweeps asked for through the API, the CLI or a registry restart run regardless.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A fixed cycle. When unset, the cycle is as short as <see cref="RequestsPerSecondBudget"/> allows for the inventory.</summary>
    public TimeSpan? Cycle { get; set; }

    [Range(typeof(TimeSpan), "00:00:05", "7.00:00:00")]
    public TimeSpan MinimumCycle { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Registry requests per second a scheduled sweep may plan on (events come first).</summary>
    [Range(1, 100_000)]
    public int RequestsPerSecondBudget { get; set; } = 200;

    [Range(1, 1000)]
    public int CatalogPageSize { get; set; } = 1000;

    /// <summary>Repositories swept at once by one Verifier.</summary>
    [Range(1, 64)]
    public int ConcurrentRepositories { get; set; } = 2;

    /// <summary>Manifest trees walked at once within one repository.</summary>
    [Range(1, 64)]
    public int ConcurrentWalks { get; set; } = 4;

    /// <summary>A sweep that has not completed this long after it started is stale: another may start.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromHours(6);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SchedulerInterval { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan CycleFor(long inventory) =>
        Cycle ?? TimeSpan.FromSeconds(Math.Max(MinimumCycle.TotalSeconds, (double)inventory / RequestsPerSecondBudget));
}
