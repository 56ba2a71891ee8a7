using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Storage;

/// <summary>A registry event as processed, kept so duplicates are dropped and history can be replayed.</summary>
/// <param name="Replay">Sent again on purpose (the <c>replay</c> verb): its verdict is stored even if the id was processed before.</param>
public sealed record ProcessedEvent(
    string EventId, string MessageType, string Repository, DateTimeOffset OccurredAt, string? SourceInstanceId, string Payload, bool Replay = false);

/// <summary>Live manifests by latest verdict, and the objects missing from the broken ones.</summary>
public sealed record VerdictCounts(long Broken, long Indeterminate, long Healthy, long MissingObjects);

/// <param name="Subject">For an artifact (signature, SBOM): the manifest it is about.</param>
public sealed record ManifestVerdict(
    string Repository,
    string Digest,
    string? MediaType,
    string? Result,
    DateTimeOffset? CheckedAt,
    DateTimeOffset? Since,
    DateTimeOffset? DeletedAt,
    IReadOnlyList<MissingObject> Missing,
    IReadOnlyList<string> Reasons,
    IReadOnlyList<string> Tags,
    string? Subject);

public sealed record VerdictHistoryEntry(string Result, DateTimeOffset CheckedAt, IReadOnlyList<MissingObject> Missing, IReadOnlyList<string> Reasons, string? EventId);

/// <summary>Manifests, their current verdicts and history, the reference graph, tags and processed events.</summary>
public interface IVerdictStore
{
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>One cheap round trip to the database; throws when it cannot be reached.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    Task<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken);

    /// <summary>Stores a walk in one transaction: every manifest seen, its references, the root's verdict, the tag, the event.</summary>
    Task SaveWalkAsync(WalkResult walk, DateTimeOffset checkedAt, string? tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken);

    /// <summary>Records that a digest was deleted; if it was a manifest, it no longer counts.</summary>
    Task MarkDeletedAsync(string repository, string digest, DateTimeOffset deletedAt, ProcessedEvent? processedEvent, CancellationToken cancellationToken);

    Task DeleteTagAsync(string repository, string tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken);

    Task RecordEventAsync(ProcessedEvent processedEvent, CancellationToken cancellationToken);

    /// <summary>Live manifests in <paramref name="repository"/> that reference <paramref name="digest"/> directly.</summary>
    Task<IReadOnlyList<string>> FindReferrersAsync(string repository, string digest, CancellationToken cancellationToken);

    Task<VerdictCounts> CountVerdictsAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<ManifestVerdict>> ListBrokenAsync(CancellationToken cancellationToken);

    Task<ManifestVerdict?> GetManifestAsync(string repository, string digest, CancellationToken cancellationToken);

    Task<IReadOnlyList<VerdictHistoryEntry>> GetHistoryAsync(string repository, string digest, int limit, CancellationToken cancellationToken);
}
