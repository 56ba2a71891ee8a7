using System.Text.Json;
using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Storage;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>A pushed or mounted manifest: walk it and store the verdict together with the event.</summary>
public sealed class ManifestPushedConsumer(VerificationService verification, IVerdictStore store) : IConsumer<ManifestPushed>
{
    public async Task Consume(ConsumeContext<ManifestPushed> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await store.IsEventProcessedAsync(message.EventId, context.CancellationToken))
            return;
        await verification.VerifyAsync(message.Repository, message.Digest, message.Tag, ProcessedEvents.From(message), context.CancellationToken);
    }
}

/// <summary>
/// A deleted digest (manifest or blob: the event cannot tell): mark it deleted, then re-verify
/// every manifest that referenced it, so deleting an index child flags the index at once.
/// </summary>
public sealed class DigestDeletedConsumer(VerificationService verification, IVerdictStore store, TimeProvider time) : IConsumer<DigestDeleted>
{
    public async Task Consume(ConsumeContext<DigestDeleted> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await store.IsEventProcessedAsync(message.EventId, context.CancellationToken))
            return;
        await store.MarkDeletedAsync(message.Repository, message.Digest, time.GetUtcNow(), processedEvent: null, context.CancellationToken);
        await verification.VerifyReferrersAsync(message.Repository, message.Digest, context.CancellationToken);
        // Recorded last: a crash before this point redelivers the event and the (idempotent) work is redone.
        await store.RecordEventAsync(ProcessedEvents.From(message), context.CancellationToken);
    }
}

public sealed class TagDeletedConsumer(IVerdictStore store) : IConsumer<TagDeleted>
{
    public async Task Consume(ConsumeContext<TagDeleted> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await store.IsEventProcessedAsync(message.EventId, context.CancellationToken))
            return;
        await store.DeleteTagAsync(message.Repository, message.Tag, ProcessedEvents.From(message), context.CancellationToken);
    }
}

internal static class ProcessedEvents
{
    public static ProcessedEvent From<T>(T message) where T : class, IRegistryEvent => new(
        message.EventId, typeof(T).Name, message.Repository, message.OccurredAt, message.SourceInstanceId,
        JsonSerializer.Serialize(message));
}
