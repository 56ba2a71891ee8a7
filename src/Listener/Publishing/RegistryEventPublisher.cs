using MassTransit;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Listener.Publishing;

/// <summary>
/// Puts registry events on the durable events queue. A send completes only when RabbitMQ has
/// confirmed it (MassTransit enables publisher confirms by default), so several events of one
/// envelope are sent concurrently and their confirms awaited together.
/// </summary>
public sealed class RegistryEventPublisher(IBus bus, EventsQueue queue)
{
    public async Task PublishAsync(IReadOnlyList<IRegistryEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
            return;
        // Only a RabbitMQ bus has a queue to declare (logic tests run MassTransit's in-memory harness).
        if (bus.Topology is IRabbitMqBusTopology)
            await queue.EnsureDeclaredAsync(cancellationToken);
        var endpoint = await bus.GetSendEndpoint(queue.SendAddress);
        try
        {
            if (events.Count == 1)
                await SendAsync(endpoint, events[0], cancellationToken);
            else
                await Task.WhenAll(events.Select(message => SendAsync(endpoint, message, cancellationToken)));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Refused at once rather than timed out: the queue may have been deleted since, declare it again before the next send.
            queue.Forget();
            throw;
        }
    }

    private static Task SendAsync(ISendEndpoint endpoint, IRegistryEvent message, CancellationToken cancellationToken)
    {
        var pipe = EventsQueue.SendPipe(EventMessageId.From(message.EventId));
        return message switch
        {
            ManifestPushed pushed => endpoint.Send(pushed, pipe, cancellationToken),
            DigestDeleted deleted => endpoint.Send(deleted, pipe, cancellationToken),
            TagDeleted tagDeleted => endpoint.Send(tagDeleted, pipe, cancellationToken),
            _ => throw new ArgumentException($"No send for {message.GetType().Name}.", nameof(message)),
        };
    }
}
