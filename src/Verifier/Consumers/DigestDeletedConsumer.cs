using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// A deleted digest (manifest or blob: the event cannot tell): mark it deleted, then re-verify
/// every manifest that referenced it, so deleting an index child flags the index at once.
/// </summary>
public sealed class DigestDeletedConsumer(VerificationService verification, IVerdictStore store, IEventLog eventLog, TimeProvider time) : IConsumer<DigestDeleted>
{
    public async Task Consume(ConsumeContext<DigestDeleted> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await eventLog.IsProcessedAsync(message.EventId, context.CancellationToken))
            return;
        // When the registry deleted it, not when we heard: a walk that saw it present after that (a re-push) wins.
        await store.MarkDeletedAsync(message.Repository, message.Digest, time.NoLaterThanNow(message.OccurredAt), processedEvent: null, context.CancellationToken);
        await verification.VerifyReferrersAsync(message.Repository, message.Digest, message.OccurredAt, context.CancellationToken);
        // Recorded last: a crash before this point redelivers the event and the (idempotent) work is redone.
        await eventLog.RecordAsync(ProcessedEvent.From(message), context.CancellationToken);
    }
}
