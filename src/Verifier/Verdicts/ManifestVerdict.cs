namespace RegistryIntegrity.Verifier.Verdicts;

/// <summary>The latest walk of a manifest, whatever it concluded.</summary>
public sealed record VerdictAttempt(string Result, DateTimeOffset At, IReadOnlyList<string> Reasons);

/// <summary>A tag the registry lists whose manifest answers 404: pulling it fails. Shaped like a broken <see cref="ManifestVerdict"/>.</summary>
/// <param name="Digest">The digest the tag last resolved to, when the store knew it.</param>
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
