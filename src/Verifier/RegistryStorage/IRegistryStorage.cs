namespace RegistryIntegrity.Verifier.RegistryStorage;

public enum StorageOutcome { Present, Missing, Unreadable }

/// <summary>
/// One answer of the registry's storage. <see cref="StorageOutcome.Missing"/> only when the storage shows the
/// object is not there (no such file or key); anything that could not be read is
/// <see cref="StorageOutcome.Unreadable"/> with the reason, never missing.
/// </summary>
public readonly record struct StorageAnswer<T>(StorageOutcome Outcome, T? Value, string? Reason)
{
    public static StorageAnswer<T> Found(T value) => new(StorageOutcome.Present, value, null);
    public static StorageAnswer<T> NotFound(string reason) => new(StorageOutcome.Missing, default, reason);
    public static StorageAnswer<T> Unreadable(string reason) => new(StorageOutcome.Unreadable, default, reason);
}

/// <summary>A listing of the storage could not be completed: nothing may be reconciled from what it listed so far.</summary>
public sealed class RegistryStorageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Read-only access to a registry's storage in distribution's layout
/// (<see cref="Contracts.RegistryStorage.RegistryStorageLayout"/>). Enumerations stream: no listing of the
/// whole tree is ever held in memory. A listing that fails part-way throws <see cref="RegistryStorageException"/>.
/// Implementations: <see cref="FileSystemRegistryStorage"/>; an object store (S3) would list by prefix and
/// delimiter, read links with GET and stat blobs with HEAD (see README, "Storage scan").
/// </summary>
public interface IRegistryStorage
{
    /// <summary>Where the storage is, for messages.</summary>
    string Location { get; }

    /// <summary>Whether the root can be read and holds distribution's layout; the reason when not.</summary>
    StorageAnswer<bool> CheckRoot();

    /// <summary>
    /// Every repository (a directory holding <c>_manifests</c>, as distribution's catalog lists them), in ordinal order;
    /// with <paramref name="withLayersOnly"/> also those holding only <c>_layers</c> (blobs pushed, no manifest yet).
    /// </summary>
    IAsyncEnumerable<string> ListRepositoriesAsync(bool withLayersOnly, CancellationToken cancellationToken);

    /// <summary>The tag directories of a repository (none when it has no tags), as distribution's <c>tags/list</c>.</summary>
    IAsyncEnumerable<string> ListTagsAsync(string repository, CancellationToken cancellationToken);

    /// <summary>The digests of the repository's revision directories (<c>_manifests/revisions/&lt;alg&gt;/&lt;hex&gt;</c>).</summary>
    IAsyncEnumerable<string> ListRevisionsAsync(string repository, CancellationToken cancellationToken);

    /// <summary>The digests of the repository's layer link directories (<c>_layers/&lt;alg&gt;/&lt;hex&gt;</c>).</summary>
    IAsyncEnumerable<string> ListLayerLinksAsync(string repository, CancellationToken cancellationToken);

    /// <summary>
    /// Every blob whose data file exists (<c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;/data</c>), as distribution's blob
    /// enumeration (the GC's sweep phase) lists them.
    /// </summary>
    IAsyncEnumerable<string> ListBlobsAsync(CancellationToken cancellationToken);

    /// <summary>Whether a directory of the layout exists (present), does not (missing), or cannot be told (unreadable).</summary>
    StorageAnswer<bool> DirectoryExists(string relativePath);

    /// <summary>The digest a link file holds (its relative layout path); unreadable when it holds anything else.</summary>
    Task<StorageAnswer<string>> ReadLinkAsync(string relativePath, CancellationToken cancellationToken);

    /// <summary>The size of a blob's data; with <paramref name="readFirstByte"/>, unreadable unless its first byte can be read too.</summary>
    Task<StorageAnswer<long>> StatBlobAsync(string digest, bool readFirstByte, CancellationToken cancellationToken);

    /// <summary>A blob's first <paramref name="maxBytes"/> bytes at most (all of it when shorter); unreadable when it is longer and <paramref name="whole"/>.</summary>
    Task<StorageAnswer<byte[]>> ReadBlobAsync(string digest, int maxBytes, bool whole, CancellationToken cancellationToken);

    /// <summary>Removes a layer link (the only change the storage scan ever makes, and only when asked to).</summary>
    Task<StorageAnswer<bool>> RemoveLayerLinkAsync(string repository, string digest, CancellationToken cancellationToken);
}
