using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Storage;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// A pushed or mounted manifest: walk it and store the verdict together with the event. A broken
/// verdict is data: the consumer completes normally, and only failures to do the work (the store
/// unreachable) throw and are retried.
/// </summary>
public sealed class ManifestPushedConsumer(VerificationService verification, IVerdictStore store) : IConsumer<ManifestPushed>
{
    public async Task Consume(ConsumeContext<ManifestPushed> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await store.IsEventProcessedAsync(message.EventId, context.CancellationToken))
            return;
        await verification.VerifyAsync(message.Repository, message.Digest, message.Tag, ProcessedEvents.From(message, context.IsReplay()), context.CancellationToken);
    }
}
