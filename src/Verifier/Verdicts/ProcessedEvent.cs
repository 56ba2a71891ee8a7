namespace RegistryIntegrity.Verifier.Verdicts;

/// <summary>A registry event as processed, kept so duplicates are dropped and history can be replayed.</summary>
/// <param name="Replay">Sent again on purpose (the <c>replay</c> verb): its verdict is stored even if the id was processed before.</param>
public sealed record ProcessedEvent(
    string EventId, string MessageType, string Repository, DateTimeOffset OccurredAt, string? SourceInstanceId, string Payload, bool Replay = false);
