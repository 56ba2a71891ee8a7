using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Store;

/// <summary>
/// Manifests, their current verdicts and history, the reference graph and tags. A processed event passed to a
/// write is recorded in the <see cref="IEventLog"/> in the same transaction.
/// </summary>
public interface IVerdictStore
{
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>One cheap round trip to the database; throws when it cannot be reached.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>Stores a walk in one transaction: every manifest seen, its references, the root's verdict, the tag, the event.</summary>
    /// <returns>
    /// False, storing nothing, when an event changed an object of the walk after the registry answered about it
    /// (a sweep's shared answers from before a delete or a push): walk again.
    /// </returns>
    Task<bool> SaveWalkAsync(WalkResult walk, DateTimeOffset checkedAt, string? tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken);

    /// <summary>A digest came into the repository (a push or mount event) at <paramref name="at"/>.</summary>
    Task RecordPushAsync(string repository, string digest, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Records that a digest was deleted; if it was a manifest, it no longer counts.</summary>
    Task MarkDeletedAsync(string repository, string digest, DateTimeOffset deletedAt, ProcessedEvent? processedEvent, CancellationToken cancellationToken);

    /// <summary>
    /// Records that the tag was deleted at <paramref name="deletedAt"/> (the registry's time, capped at ours) and removes it, unless it
    /// was pushed again after that. A push or a tag listing from before the deletion, processed later, does not bring it back.
    /// </summary>
    Task DeleteTagAsync(string repository, string tag, DateTimeOffset deletedAt, ProcessedEvent? processedEvent, CancellationToken cancellationToken);

    /// <summary>Live manifests in <paramref name="repository"/> that reference <paramref name="digest"/> directly.</summary>
    Task<IReadOnlyList<string>> FindReferrersAsync(string repository, string digest, CancellationToken cancellationToken);

    /// <summary>Like <see cref="FindReferrersAsync"/>, only those whose verdict is not healthy (or not yet reached).</summary>
    Task<IReadOnlyList<string>> FindUnhealthyReferrersAsync(string repository, string digest, CancellationToken cancellationToken);

    Task<VerdictCounts> CountVerdictsAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<ManifestVerdict>> ListBrokenAsync(CancellationToken cancellationToken) => ListBrokenAsync(null, int.MaxValue, cancellationToken);

    /// <summary>At most <paramref name="limit"/> live broken manifests after <paramref name="after"/>, in (repository, digest) order.</summary>
    Task<IReadOnlyList<ManifestVerdict>> ListBrokenAsync(PageKey? after, int limit, CancellationToken cancellationToken);

    Task<IReadOnlyList<DanglingTag>> ListDanglingTagsAsync(CancellationToken cancellationToken) => ListDanglingTagsAsync(null, int.MaxValue, cancellationToken);

    /// <summary>At most <paramref name="limit"/> dangling tags after <paramref name="after"/> (repository, tag), in that order.</summary>
    Task<IReadOnlyList<DanglingTag>> ListDanglingTagsAsync(PageKey? after, int limit, CancellationToken cancellationToken);

    /// <summary>At most <paramref name="limit"/> live manifests of <paramref name="repository"/> whose digest sorts after <paramref name="afterDigest"/>.</summary>
    Task<IReadOnlyList<ManifestVerdict>> ListManifestsAsync(string repository, string? afterDigest, int limit, CancellationToken cancellationToken);

    /// <summary>The digest the store last saw <paramref name="tag"/> point to, or null.</summary>
    Task<string?> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken);

    Task<ManifestVerdict?> GetManifestAsync(string repository, string digest, CancellationToken cancellationToken);

    Task<IReadOnlyList<VerdictHistoryEntry>> GetHistoryAsync(string repository, string digest, int limit, CancellationToken cancellationToken);
}
