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

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var sweeps = scope.ServiceProvider.GetRequiredService<ISweepStore>();
        var cycle = options.Value.CycleFor(await sweeps.CountInventoryAsync(cancellationToken));
        metrics.SetCycle(cycle);
        var latest = await sweeps.GetLatestSweepAsync(completedOnly: false, cancellationToken);
        if (latest is not null && time.GetUtcNow() - latest.StartedAt < cycle)
            return;
        var requester = scope.ServiceProvider.GetRequiredService<SweepRequester>();
        // A sweep longer than the cycle is still running until it completes or turns stale: no second one beside it.
        if (await requester.RunningAsync(cancellationToken) is not null)
            return;
        var id = await requester.RequestAsync("schedule", cancellationToken);
        logger.LogInformation("Scheduled sweep {SweepId} started (cycle {Cycle})", id, cycle);
    }
}
