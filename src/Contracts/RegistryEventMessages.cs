namespace RegistryIntegrity.Contracts;

/// <summary>
/// What every message built from a registry notification carries: the registry's event id
/// (also the source of the message id, so retried notifications can be dropped), when the
/// registry says it happened, and which registry process sent it.
/// </summary>
public interface IRegistryEvent
{
    string EventId { get; }
    DateTimeOffset OccurredAt { get; }
    string Repository { get; }

    /// <summary><c>source.instanceID</c>: it changes on every registry restart, when queued events may be lost.</summary>
    string? SourceInstanceId { get; }
}

/// <summary>A manifest was pushed (by tag or by digest) or mounted into <see cref="Repository"/>.</summary>
public sealed record ManifestPushed : IRegistryEvent
{
    public required string EventId { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }
    public required string Repository { get; init; }
    public string? SourceInstanceId { get; init; }
    public required string Digest { get; init; }
    public string? MediaType { get; init; }
    public string? Tag { get; init; }

    /// <summary>Set for a cross-repository mount.</summary>
    public string? FromRepository { get; init; }
}

/// <summary>
/// A digest was deleted. The registry's event does not say whether it was a manifest or a blob.
/// </summary>
public sealed record DigestDeleted : IRegistryEvent
{
    public required string EventId { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }
    public required string Repository { get; init; }
    public string? SourceInstanceId { get; init; }
    public required string Digest { get; init; }
}

/// <summary>A tag was removed: a side effect of a manifest delete (2.8) or a tag delete (3.x).</summary>
public sealed record TagDeleted : IRegistryEvent
{
    public required string EventId { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }
    public required string Repository { get; init; }
    public string? SourceInstanceId { get; init; }
    public required string Tag { get; init; }
}
