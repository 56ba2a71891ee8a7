using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>
/// Starts a sweep when the last one started a cycle ago (or none ever did: the first start is the
/// backfill). Every replica runs this; the store's last start time keeps them from piling up.
/// </summary>
public sealed class SweepScheduler(
    IServiceScopeFactory scopes, IOptions<SweepOptions> options, SweepMetrics metrics, TimeProvider time, ILogger<SweepScheduler> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
            return;
        using var timer = new PeriodicTimer(options.Value.SchedulerInterval, time);
        do
        {
            try
            {
                await TickAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Sweep scheduling failed, trying again in {Interval}: {Error}", options.Value.SchedulerInterval, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private TimeSpan? _cycle;
    private DateTimeOffset _cycleCountedAt;

    internal async Task TickAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var sweeps = scope.ServiceProvider.GetRequiredService<ISweepStore>();
        var latest = await sweeps.GetLatestSweepAsync(completedOnly: false, cancellationToken);
        var now = time.GetUtcNow();
        var sinceLatest = now - latest?.StartedAt;
        // Counting the inventory reads every live manifest and reference (seconds at a million manifests):
        // at the first tick, then at most once per minimum cycle and only while a sweep may be due.
        var minimum = options.Value.MinimumCycle;
        if (_cycle is null || sinceLatest is null || (sinceLatest >= minimum && now - _cycleCountedAt >= minimum))
        {
            _cycleCountedAt = now;
            _cycle = options.Value.Cycle ?? options.Value.CycleFor(await sweeps.CountInventoryAsync(cancellationToken));
            metrics.SetCycle(_cycle.Value);
        }
        var cycle = _cycle.Value;
        if (sinceLatest < cycle)
            return;
        var requester = scope.ServiceProvider.GetRequiredService<SweepRequester>();
        // A sweep longer than the cycle is still running until it completes or turns stale: no second one beside it.
        if (await requester.RunningAsync(cancellationToken) is not null)
            return;
        var id = await requester.RequestAsync("schedule", cancellationToken);
        logger.LogInformation("Scheduled sweep {SweepId} started (cycle {Cycle})", id, cycle);
    }
}
