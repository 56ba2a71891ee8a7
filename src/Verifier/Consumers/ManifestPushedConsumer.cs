using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// A pushed or mounted manifest: walk it and store the verdict together with the event, then re-walk
/// the unhealthy manifests that reference it (a re-pushed child heals its index). A broken
/// verdict is data: the consumer completes normally, and only failures to do the work (the store
/// unreachable) throw and are retried.
/// </summary>
public sealed class ManifestPushedConsumer(VerificationService verification, IVerdictStore store, IEventLog eventLog, TimeProvider time) : IConsumer<ManifestPushed>
{
    public async Task Consume(ConsumeContext<ManifestPushed> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await eventLog.IsProcessedAsync(message.EventId, context.CancellationToken))
            return;
        // Answers a sweep got about this digest before the push are out of date from now on.
        await store.RecordPushAsync(message.Repository, message.Digest, time.NoLaterThanNow(message.OccurredAt), context.CancellationToken);
        var walk = await verification.VerifyAsync(
            message.Repository, message.Digest, message.Tag, ProcessedEvent.From(message, context.IsReplay()), context.CancellationToken);
        if (!walk.RootMissing)
            await verification.VerifyUnhealthyReferrersAsync(message.Repository, message.Digest, context.CancellationToken);
    }
}
