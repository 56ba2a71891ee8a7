using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>A message read back from a real queue.</summary>
public sealed record QueuedMessage(string? MessageId, string? ContentType, IDictionary<string, object?> Headers, byte[] Body)
{
    public string HeaderText(string name) => Headers.TryGetValue(name, out var value) && value is byte[] bytes
        ? Encoding.UTF8.GetString(bytes)
        : throw new KeyNotFoundException($"No text header {name}.");

    /// <summary>The MassTransit envelope's <c>message</c> object.</summary>
    public JsonElement Message => JsonDocument.Parse(Body).RootElement.GetProperty("message");

    /// <summary>The MassTransit envelope's first <c>messageType</c> URN.</summary>
    public string MessageType => JsonDocument.Parse(Body).RootElement.GetProperty("messageType")[0].GetString()!;
}

/// <summary>Reads queues of the real broker with RabbitMQ.Client, a fresh connection each time (the broker may have restarted).</summary>
public static class Broker
{
    /// <summary>Takes every message now on <paramref name="queue"/> off it (none when the queue does not exist yet).</summary>
    public static async Task<List<QueuedMessage>> DrainAsync(Uri rabbitMq, string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = rabbitMq }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<QueuedMessage>();
        try
        {
            await channel.QueueDeclarePassiveAsync(queue);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return messages;
        }
        while (messages.Count < 100_000 && await channel.BasicGetAsync(queue, autoAck: true) is { } result)
        {
            messages.Add(new QueuedMessage(
                result.BasicProperties.MessageId,
                result.BasicProperties.ContentType,
                result.BasicProperties.Headers ?? new Dictionary<string, object?>(),
                result.Body.ToArray()));
        }
        return messages;
    }

    public static async Task<uint> CountAsync(Uri rabbitMq, string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = rabbitMq }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    /// <summary>Polls until <paramref name="done"/> holds for everything drained so far, or the time is up.</summary>
    public static async Task<List<QueuedMessage>> DrainUntilAsync(Uri rabbitMq, string queue, Func<IReadOnlyList<QueuedMessage>, bool> done, TimeSpan within)
    {
        var messages = new List<QueuedMessage>();
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            messages.AddRange(await DrainAsync(rabbitMq, queue));
            if (done(messages) || DateTime.UtcNow > deadline)
                return messages;
            await Task.Delay(100);
        }
    }
}
