using MassTransit;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>Starts a sweep: records it (so its progress can be asked for at once) and queues it for any Verifier replica.</summary>
/// <param name="registry">When this process last saw the registry down; none where nothing asks the registry.</param>
public sealed class SweepRequester(
    ISendEndpointProvider sendEndpoints, ISweepStore sweeps, TimeProvider time, QueueAddresses queues, IOptions<SweepOptions> options,
    Registry.RegistryAvailability? registry = null)
{
    // One process asks at a time, so two requests in the same instant cannot both find no running sweep.
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    public async Task<Guid> RequestAsync(string trigger, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var now = time.GetUtcNow();
        await sweeps.StartSweepAsync(id, trigger, now, cancellationToken);
        try
        {
            var endpoint = await sendEndpoints.GetSendEndpoint(queues.Sweeps);
            await endpoint.Send(new StartSweep { SweepId = id, Trigger = trigger, RequestedAt = now }, cancellationToken);
        }
        catch (Exception e)
        {
            // Never queued, so never run: recorded as failed, or it would count as running and block every later request.
            await sweeps.FailSweepAsync(id, $"could not be queued: {e.Message}", time.GetUtcNow(), CancellationToken.None);
            throw;
        }
        return id;
    }

    /// <summary>
    /// One sweep at a time per registry: while one is running (and not stale), asking again returns it
    /// (<c>Started</c> false) instead of queueing another full walk of the catalog.
    /// </summary>
    public async Task<(SweepProgress Sweep, bool Started)> RequestOrJoinAsync(string trigger, CancellationToken cancellationToken)
    {
        await OneAtATime.WaitAsync(cancellationToken);
        try
        {
            if (await RunningAsync(cancellationToken) is { } running)
                return (running, false);
            var id = await RequestAsync(trigger, cancellationToken);
            return ((await sweeps.GetSweepAsync(id, cancellationToken))!, true);
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    /// <summary>
    /// The latest sweep when it has not completed or failed, started less than <see cref="SweepOptions.StaleAfter"/> ago,
    /// and started after the registry was last seen down. One that began before an outage may have passed repositories
    /// that a garbage collection run while the registry was stopped has changed since (it sends no event): it runs on,
    /// but a request after the outage starts a sweep of its own rather than joining it.
    /// </summary>
    public async Task<SweepProgress?> RunningAsync(CancellationToken cancellationToken)
    {
        var latest = await sweeps.GetLatestSweepAsync(completedOnly: false, cancellationToken);
        return latest is { Status: "enumerating" or "running" } && time.GetUtcNow() - latest.StartedAt < options.Value.StaleAfter
            && registry?.UnavailableSince(latest.StartedAt) != true ? latest : null;
    }
}
