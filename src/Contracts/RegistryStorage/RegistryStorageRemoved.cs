namespace RegistryIntegrity.Contracts.RegistryStorage;

/// <summary>What disappeared from the registry's storage, as the storage watcher classifies a removed path.</summary>
public static class RemovedObjectKinds
{
    /// <summary><c>repositories/&lt;name&gt;/_manifests/revisions/&lt;alg&gt;/&lt;hex&gt;</c> or its <c>link</c>: the manifest is gone from the repository.</summary>
    public const string Revision = "revision";

    /// <summary><c>repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt;</c> (or its <c>current</c> link): the tag is gone; that alone breaks nothing.</summary>
    public const string Tag = "tag";

    /// <summary><c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;</c> or its <c>data</c>: the bytes are gone for every repository.</summary>
    public const string Blob = "blob";

    /// <summary><c>repositories/&lt;name&gt;/_layers/&lt;alg&gt;/&lt;hex&gt;</c> or its <c>link</c>: the repository no longer serves the blob.</summary>
    public const string LayerLink = "layer-link";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Revision, Tag, Blob, LayerLink };
}

/// <summary>One removal seen on the storage. <see cref="Repository"/> is null for a blob (blobs are shared by all repositories).</summary>
public sealed record RemovedObject
{
    public required string Kind { get; init; }
    public string? Repository { get; init; }
    public string? Digest { get; init; }
    public string? Tag { get; init; }

    /// <summary>When the watcher saw the removal.</summary>
    public required DateTimeOffset RemovedAt { get; init; }
}

/// <summary>
/// Removals seen on the registry's storage during one short window, coalesced (a removed directory and the
/// files in it count once): the Verifier re-walks each affected stored manifest once per batch.
/// The registry sends no event for garbage collection or for files removed behind its back.
/// </summary>
public sealed record RegistryStorageRemoved
{
    public required Guid BatchId { get; init; }

    /// <summary>Which watcher saw it (its host name and storage root), for logs.</summary>
    public required string Watcher { get; init; }

    public required IReadOnlyList<RemovedObject> Removals { get; init; }
}
