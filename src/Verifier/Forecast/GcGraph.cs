using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>Which garbage collection: <c>garbage-collect</c> alone, or with <c>--delete-untagged</c> (<c>-m</c>).</summary>
public enum GcMode { Plain, DeleteUntagged }

/// <summary>The registry version family whose mark phase is simulated: distribution 2.8.x, or 3.x.</summary>
public enum GcVersion { V2_8, V3 }

/// <summary>A reference from a manifest, in the order the manifest lists it.</summary>
public sealed record GcReference(string Digest, ReferenceKind Kind);

/// <summary>
/// A manifest revision of a repository (its <c>_manifests/revisions</c> link exists). <see cref="References"/> is null
/// when the manifest's content is not known (its data is gone, or it could not be read).
/// </summary>
/// <param name="Subject">For an OCI 1.1 referrer (signature, SBOM): the manifest it is about. GC never follows it.</param>
public sealed record GcManifest(string Digest, IReadOnlyList<GcReference>? References, string? Subject = null, string? MediaType = null);

/// <param name="Tags">tag -> the digest its <c>current/link</c> names.</param>
/// <param name="TagsDirectoryExists">
/// Whether <c>_manifests/tags</c> exists. A repository only ever pushed by digest has none, and 2.8.2's
/// <c>garbage-collect -m</c> then fails as a whole (nothing is deleted).
/// </param>
/// <param name="Unavailable">
/// Digests this repository cannot serve now although other repositories may (its blob link is gone, or the API
/// answered 404 for it): an image resting on one is broken already, whatever GC does.
/// </param>
public sealed record GcRepository(
    string Name,
    IReadOnlyList<GcManifest> Manifests,
    IReadOnlyDictionary<string, string> Tags,
    bool TagsDirectoryExists = true,
    IReadOnlySet<string>? Unavailable = null);

/// <summary>
/// The registry's storage as its garbage collector sees it: every repository's manifest revisions and tags, and the
/// blobs whose data exists (manifests are blobs too). Built from the verdict store (<see cref="StoreGraphSource"/>)
/// or, exactly, from the registry's storage (<see cref="StorageGraphSource"/>).
/// </summary>
public sealed record GcGraph(IReadOnlyList<GcRepository> Repositories, IReadOnlySet<string> Blobs);

/// <summary>What keeps the forecast from being a confident answer: nothing, or the reasons it is incomplete.</summary>
public sealed record GraphCompleteness(IReadOnlyList<string> Gaps)
{
    public static readonly GraphCompleteness Complete = new([]);

    public bool IsComplete => Gaps.Count == 0;
}

/// <summary>
/// Where the forecast reads the registry's state from. The verdict store is one source; a reader of the registry's
/// own storage (filesystem driver) is the exact one: it sees revisions, tag links and blob data as GC will.
/// </summary>
public interface IGcGraphSource
{
    /// <summary>A short name for reports: <c>store</c> or <c>storage</c>.</summary>
    string Name { get; }

    Task<(GcGraph Graph, GraphCompleteness Completeness)> ReadAsync(CancellationToken cancellationToken);
}
