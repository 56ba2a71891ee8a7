using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// Enumerates the whole catalog (every page) and queues one <see cref="SweepRepository"/> per
/// repository, so every Verifier replica shares the work. Repositories the store knows but the
/// catalog no longer lists are swept too: that is how vanished repositories are reconciled.
/// </summary>
public sealed class StartSweepConsumer(
    ISweepSource source, ISweepStore sweeps, SweepRequester requester, TimeProvider time, ILogger<StartSweepConsumer> logger,
    QueueAddresses queues)
    : IConsumer<StartSweep>
{
    public async Task Consume(ConsumeContext<StartSweep> context)
    {
        var sweep = context.Message;
        var cancellationToken = context.CancellationToken;
        // A request sent straight to the queue (the storage watcher's) was never recorded: one sweep at a time, it joins a running one.
        if (await sweeps.GetSweepAsync(sweep.SweepId, cancellationToken) is null && await requester.RunningAsync(cancellationToken) is { } running)
        {
            logger.LogInformation("Sweep request {SweepId} ({Trigger}) joins the running sweep {Running}", sweep.SweepId, sweep.Trigger, running.Id);
            return;
        }
        await sweeps.StartSweepAsync(sweep.SweepId, sweep.Trigger, sweep.RequestedAt, cancellationToken);

        var (catalog, error) = await source.ListRepositoriesAsync(cancellationToken);
        if (error is not null)
        {
            // A catalog cut short is as unusable as none: reconciling from it would drop every repository after the cut.
            logger.LogWarning("Sweep {SweepId} stopped: {Error}", sweep.SweepId, error);
            await sweeps.FailSweepAsync(sweep.SweepId, error, time.GetUtcNow(), cancellationToken);
            return;
        }

        // Never-verified repositories first, then the least recently verified.
        var known = await sweeps.ListRepositoriesAsync(cancellationToken);
        var repositories = catalog.Except(known, StringComparer.Ordinal).Concat(known).Distinct(StringComparer.Ordinal).ToList();
        var endpoint = await context.GetSendEndpoint(queues.Sweeps);
        await endpoint.SendBatch(repositories.Select(r => new SweepRepository { SweepId = sweep.SweepId, Repository = r }), cancellationToken);
        await sweeps.SetEnumeratedAsync(sweep.SweepId, repositories.Count, time.GetUtcNow(), cancellationToken);
        logger.LogInformation("Sweep {SweepId} ({Trigger}): {Count} repositories queued", sweep.SweepId, sweep.Trigger, repositories.Count);
    }
}
