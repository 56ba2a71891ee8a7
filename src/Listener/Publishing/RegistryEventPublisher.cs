using MassTransit;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Listener.Publishing;

/// <summary>
/// Puts registry events on the durable events queue. A send completes only when RabbitMQ has
/// confirmed it (MassTransit enables publisher confirms by default).
/// </summary>
public sealed class RegistryEventPublisher(IBus bus)
{
    private static readonly Uri EventsQueue = new($"queue:{QueueNames.RegistryEvents}");

    public async Task PublishAsync(IReadOnlyCollection<IRegistryEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
            return;
        var endpoint = await bus.GetSendEndpoint(EventsQueue);
        await Task.WhenAll(events.Select(message => endpoint.Send(
            message,
            message.GetType(),
            Pipe.Execute<SendContext>(context => context.MessageId = EventMessageId.From(message.EventId)),
            cancellationToken)));
    }
}
