using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Storage;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>Starts a sweep: records it (so its progress can be asked for at once) and queues it for any Verifier replica.</summary>
public sealed class SweepRequester(ISendEndpointProvider sendEndpoints, ISweepStore sweeps, TimeProvider time, QueueAddresses queues)
{

    public async Task<Guid> RequestAsync(string trigger, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var now = time.GetUtcNow();
        await sweeps.StartSweepAsync(id, trigger, now, cancellationToken);
        var endpoint = await sendEndpoints.GetSendEndpoint(queues.Sweeps);
        await endpoint.Send(new StartSweep { SweepId = id, Trigger = trigger, RequestedAt = now }, cancellationToken);
        return id;
    }
}
