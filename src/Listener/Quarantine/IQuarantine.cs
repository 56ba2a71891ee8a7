namespace RegistryIntegrity.Listener.Quarantine;

/// <summary>A notification from an authenticated registry that could not be used, kept whole for inspection.</summary>
/// <param name="Body">The body as received; the quarantine may keep only its first bytes.</param>
public sealed record QuarantinedNotification(
    ReadOnlyMemory<byte> Body,
    string? ContentType,
    string Reason,
    DateTimeOffset ReceivedAt,
    string? RemoteAddress)
{
    /// <summary>When <see cref="Body"/> is only the start of what was sent: the announced length, or -1 when it was not announced.</summary>
    public long? SentLength { get; init; }
}

/// <summary>
/// Where unusable notifications go. <see cref="PutAsync"/> completes only once the notification is
/// durably kept: the registry is answered 200 afterwards and will not send it again.
/// </summary>
public interface IQuarantine
{
    Task PutAsync(QuarantinedNotification notification, CancellationToken cancellationToken);
}
