using System.Text.Json;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Verifier.Store;

/// <summary>A registry event as processed, kept so duplicates are dropped and history can be replayed (<see cref="IEventLog"/>).</summary>
/// <param name="Replay">Sent again on purpose (the <c>replay</c> verb): its verdict is stored even if the id was processed before.</param>
public sealed record ProcessedEvent(
    string EventId, string MessageType, string Repository, DateTimeOffset OccurredAt, string? SourceInstanceId, string Payload, bool Replay = false)
{
    /// <summary>The record of a consumed message; its payload is the message, so <c>replay</c> can send it again.</summary>
    public static ProcessedEvent From<T>(T message, bool replay = false) where T : class, IRegistryEvent => new(
        message.EventId, typeof(T).Name, message.Repository, message.OccurredAt, message.SourceInstanceId,
        JsonSerializer.Serialize(message), replay);
}
