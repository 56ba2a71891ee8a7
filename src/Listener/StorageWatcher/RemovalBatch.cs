using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Listener.StorageWatcher;

/// <summary>
/// Removals waiting to be sent, each object once (a revision's <c>link</c> and its folder, or the same blob seen
/// twice, are one removal: the earliest sighting is kept). Bounded: past <c>capacity</c> objects the rest are
/// counted as dropped and the caller asks for a reconciling sweep instead.
/// </summary>
public sealed class RemovalBatch(int capacity)
{
    private readonly Dictionary<(string Kind, string? Repository, string? Key), RemovedObject> _removals = [];

    public int Count => _removals.Count;

    /// <summary>Removals that did not fit since the last <see cref="Take"/>.</summary>
    public long Dropped { get; private set; }

    /// <param name="relativePath">Relative to the storage root (<c>docker/registry/v2/...</c>).</param>
    /// <returns>False when the path is not one the watcher reports.</returns>
    public bool Add(string relativePath, DateTimeOffset removedAt)
    {
        if (!RegistryStorageLayout.TryClassify(relativePath, out var path) || KindOf(path.Kind) is not { } kind)
            return false;
        var removal = (Kind: kind, path.Repository, path.Digest, path.Tag);
        var key = (removal.Kind, removal.Repository, removal.Digest ?? removal.Tag);
        if (_removals.ContainsKey(key))
            return true;
        if (_removals.Count >= capacity)
        {
            Dropped++;
            return true;
        }
        _removals[key] = new RemovedObject
        {
            Kind = removal.Kind, Repository = removal.Repository, Digest = removal.Digest, Tag = removal.Tag, RemovedAt = removedAt,
        };
        return true;
    }

    /// <summary>
    /// A removed directory and the files in it are one object (a revision's folder and its <c>link</c>). A removed
    /// container (<c>_manifests</c>, a whole repository) is nothing by itself: its contents were reported one by one
    /// as they went. A tag's <c>index/</c> entries only record history.
    /// </summary>
    public static string? KindOf(RegistryStoragePathKind kind) => kind switch
    {
        RegistryStoragePathKind.BlobData or RegistryStoragePathKind.BlobDirectory => RemovedObjectKinds.Blob,
        RegistryStoragePathKind.RevisionLink or RegistryStoragePathKind.RevisionDirectory => RemovedObjectKinds.Revision,
        RegistryStoragePathKind.TagDirectory or RegistryStoragePathKind.TagCurrentDirectory or RegistryStoragePathKind.TagCurrentLink => RemovedObjectKinds.Tag,
        RegistryStoragePathKind.LayerLink or RegistryStoragePathKind.LayerDirectory => RemovedObjectKinds.LayerLink,
        _ => null,
    };

    /// <summary>Everything collected, in messages of at most <paramref name="perMessage"/> removals; the batch is empty afterwards.</summary>
    public IReadOnlyList<IReadOnlyList<RemovedObject>> Take(int perMessage)
    {
        var chunks = _removals.Values.OrderBy(r => r.RemovedAt).Chunk(perMessage).Select(c => (IReadOnlyList<RemovedObject>)c).ToList();
        _removals.Clear();
        Dropped = 0;
        return chunks;
    }
}
