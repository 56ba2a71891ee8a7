using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Consumers;

public sealed class TagDeletedConsumer(IVerdictStore store, IEventLog eventLog) : IConsumer<TagDeleted>
{
    public async Task Consume(ConsumeContext<TagDeleted> context)
    {
        var message = context.Message;
        if (!context.IsReplay() && await eventLog.IsProcessedAsync(message.EventId, context.CancellationToken))
            return;
        await store.DeleteTagAsync(message.Repository, message.Tag, ProcessedEvent.From(message), context.CancellationToken);
    }
}
