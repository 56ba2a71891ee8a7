using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// A registry loses its queued notifications when it restarts, and its <c>source.instanceID</c>
/// changes. The first event from an instance never seen before starts a sweep.
/// </summary>
public sealed class RegistryRestartConsumer(
    ISweepStore sweeps, KnownRegistryInstances known, SweepRequester requester, TimeProvider time, ILogger<RegistryRestartConsumer> logger)
    : IConsumer<ManifestPushed>, IConsumer<DigestDeleted>, IConsumer<TagDeleted>
{
    public Task Consume(ConsumeContext<ManifestPushed> context) => ObserveAsync(context, context.Message);
    public Task Consume(ConsumeContext<DigestDeleted> context) => ObserveAsync(context, context.Message);
    public Task Consume(ConsumeContext<TagDeleted> context) => ObserveAsync(context, context.Message);

    private async Task ObserveAsync(ConsumeContext context, IRegistryEvent registryEvent)
    {
        var cancellationToken = context.CancellationToken;
        if (context.IsReplay() || !RegistryInstanceId.IsValid(registryEvent.SourceInstanceId) || known.Contains(registryEvent.SourceInstanceId!))
            return;
        var instance = registryEvent.SourceInstanceId!;
        var isNew = await sweeps.RecordInstanceAsync(instance, time.GetUtcNow(), cancellationToken);
        known.Add(instance);
        if (!isNew)
            return;
        var sweepId = await requester.RequestAsync("registry-restart", cancellationToken);
        logger.LogInformation("New registry instance {Instance}: events may have been lost, sweep {SweepId} started", instance, sweepId);
    }
}
