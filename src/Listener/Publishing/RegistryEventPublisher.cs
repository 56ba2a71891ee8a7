using MassTransit;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Listener.Publishing;

/// <summary>
/// Puts registry events on the durable events queue. A send completes only when RabbitMQ has
/// confirmed it (MassTransit enables publisher confirms by default), so several events of one
/// envelope are sent concurrently and their confirms awaited together.
/// </summary>
public sealed class RegistryEventPublisher(IBus bus, QuorumEventsQueue quorum)
{
    public async Task PublishAsync(IReadOnlyList<IRegistryEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
            return;
        await quorum.EnsureDeclaredAsync(cancellationToken);
        var endpoint = await bus.GetSendEndpoint(quorum.SendAddress);
        if (events.Count == 1)
        {
            await SendAsync(endpoint, events[0], cancellationToken);
            return;
        }
        await Task.WhenAll(events.Select(message => SendAsync(endpoint, message, cancellationToken)));
    }

    private static Task SendAsync(ISendEndpoint endpoint, IRegistryEvent message, CancellationToken cancellationToken)
    {
        var pipe = Pipe.Execute<SendContext>(context =>
        {
            context.MessageId = EventMessageId.From(message.EventId);
            // Sent to an exchange (quorum queues), a message no queue is bound to comes back as an error instead of a confirm.
            if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
                rabbit.Mandatory = true;
        });
        return message switch
        {
            ManifestPushed pushed => endpoint.Send(pushed, pipe, cancellationToken),
            DigestDeleted deleted => endpoint.Send(deleted, pipe, cancellationToken),
            TagDeleted tagDeleted => endpoint.Send(tagDeleted, pipe, cancellationToken),
            _ => throw new ArgumentException($"No send for {message.GetType().Name}.", nameof(message)),
        };
    }
}
