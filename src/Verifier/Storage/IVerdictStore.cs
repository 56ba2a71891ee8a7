using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Storage;

/// <summary>A registry event as processed, kept so duplicates are dropped and history can be replayed.</summary>
/// <param name="Replay">Sent again on purpose (the <c>replay</c> verb): its verdict is stored even if the id was processed before.</param>
public sealed record ProcessedEvent(
    string EventId, string MessageType, string Repository, DateTimeOffset OccurredAt, string? SourceInstanceId, string Payload, bool Replay = false);

/// <summary>Live manifests by verdict, and the objects missing from the broken ones.</summary>
/// <param name="Broken">Broken manifests, plus tags that point to a missing manifest (<see cref="DanglingTags"/>).</param>
/// <param name="Indeterminate">Manifests whose latest walk could not reach a verdict: never judged, or <see cref="Stale"/>.</param>
/// <param name="MissingObjects">Objects missing from broken manifests, plus the missing manifest of each dangling tag.</param>
public sealed record VerdictCounts(long Broken, long Indeterminate, long Healthy, long MissingObjects)
{
    /// <summary>Healthy or broken verdicts kept while the walks since could not reach the registry.</summary>
    public long Stale { get; init; }

    /// <summary>The oldest <see cref="ManifestVerdict.StaleSince"/>.</summary>
    public DateTimeOffset? StaleSince { get; init; }

    public long DanglingTags { get; init; }
}

/// <summary>The latest walk of a manifest, whatever it concluded.</summary>
public sealed record VerdictAttempt(string Result, DateTimeOffset At, IReadOnlyList<string> Reasons);

/// <summary>A tag the registry lists whose manifest answers 404: pulling it fails. Shaped like a broken <see cref="ManifestVerdict"/>.</summary>
/// <param name="Digest">The digest the tag last resolved to, when the store knew it.</param>
/// <summary>Where a page of a list ends: the (repository, digest) or (repository, tag) of its last item.</summary>
public sealed record PageKey(string Repository, string Name);

public sealed record DanglingTag(
    string Repository, string Tag, string? Digest, string Result, DateTimeOffset Since, DateTimeOffset CheckedAt,
    IReadOnlyList<string> Tags, IReadOnlyList<MissingObject> Missing, IReadOnlyList<string> Reasons)
{
    public const string ErrorCode = "MANIFEST_UNKNOWN";

    public static DanglingTag Create(string repository, string tag, string? digest, DateTimeOffset since, DateTimeOffset checkedAt) => new(
        repository, tag, digest, "broken", since, checkedAt, [tag],
        digest is null ? [] : [new MissingObject("manifest", digest, [], 404, ErrorCode)],
        [$"tag points to a missing manifest: the registry lists '{tag}' but answers 404 for it{(digest is null ? "" : $" (last known digest {digest})")}"]);
}

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
    string? Subject)
{
    public VerdictAttempt? LastAttempt { get; init; }

    /// <summary>Set while walks since <see cref="CheckedAt"/> could not reach the registry: the verdict is kept, but not re-proven.</summary>
    public DateTimeOffset? StaleSince { get; init; }
}

public sealed record VerdictHistoryEntry(string Result, DateTimeOffset CheckedAt, IReadOnlyList<MissingObject> Missing, IReadOnlyList<string> Reasons, string? EventId);

/// <summary>Manifests, their current verdicts and history, the reference graph, tags and processed events.</summary>
public interface IVerdictStore
{
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>One cheap round trip to the database; throws when it cannot be reached.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    Task<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken);

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

    Task DeleteTagAsync(string repository, string tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken);

    Task RecordEventAsync(ProcessedEvent processedEvent, CancellationToken cancellationToken);

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
