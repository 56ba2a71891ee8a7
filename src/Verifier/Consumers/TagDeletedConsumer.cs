using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Consumers;

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
