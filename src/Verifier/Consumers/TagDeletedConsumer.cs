using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Consumers;

public sealed class TagDeletedConsumer(IVerdictStore store, IEventLog eventLog, TimeProvider time) : IConsumer<TagDeleted>
{
    public async Task Consume(ConsumeContext<TagDeleted> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await eventLog.IsProcessedAsync(message.EventId, context.CancellationToken))
            return;
        // When the registry deleted it, not when we heard: a push event from before it, delivered late, does not undo it.
        await store.DeleteTagAsync(message.Repository, message.Tag, time.NoLaterThanNow(message.OccurredAt), ProcessedEvent.From(message), context.CancellationToken);
    }
}
