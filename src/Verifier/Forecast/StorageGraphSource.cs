using System.Text.Json;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.RegistryStorage;

namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>
/// The exact graph: the registry's own storage (filesystem driver) read as distribution's mark phase
/// (registry/storage/garbagecollect.go, checked on 2.8.2) reads it:
/// <list type="bullet">
/// <item>A revision is a <c>_manifests/revisions/&lt;alg&gt;/&lt;hex&gt;/link</c> whose digest's data exists: the manifest
/// enumeration skips a revision whose data is gone (its link stays, nothing marks or deletes it).</item>
/// <item>A tag is a tag directory whose <c>current/link</c> exists: a tag directory without one is skipped by the tag
/// lookup of <c>--delete-untagged</c>. Tag index entries (<c>tags/&lt;tag&gt;/index</c>) decide nothing in the mark
/// phase (the sweep removes the deleted revision's entries with it), so they are not read.</item>
/// <item>Blobs are the <c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;/data</c> files, abandoned uploads and earlier GCs' leftovers included.</item>
/// <item>A config or layer is served by a repository only through its <c>_layers</c> link: one without is unavailable there.</item>
/// </list>
/// A manifest whose data cannot be parsed keeps unknown references: GC fails on it, and so does the simulation.
/// Anything that cannot be read (permissions, a link holding no digest, a manifest above the size limit) makes the
/// forecast incomplete: the registry's GC would fail or mark differently, so no confident answer is given.
/// Read the storage while nothing pushes (GC itself needs the registry stopped or read-only): a tree changing under
/// the reader may be read half-way.
/// </summary>
public sealed class StorageGraphSource(IRegistryStorage storage, int maxManifestBytes) : IGcGraphSource
{
    public const string SourceName = "storage";
    private const int GapExamples = 5;

    public string Name => SourceName;

    public async Task<(GcGraph Graph, GraphCompleteness Completeness)> ReadAsync(CancellationToken cancellationToken)
    {
        var empty = new GcGraph([], new HashSet<string>());
        var root = storage.CheckRoot();
        if (root.Outcome != StorageOutcome.Present)
            return (empty, new GraphCompleteness([$"the registry's storage cannot be read: {root.Reason}"]));
        var unreadable = new List<string>();
        try
        {
            var blobs = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var blob in storage.ListBlobsAsync(cancellationToken))
                blobs.Add(blob);
            var repositories = new List<GcRepository>();
            await foreach (var repository in storage.ListRepositoriesAsync(withLayersOnly: false, cancellationToken))
                repositories.Add(await ReadRepositoryAsync(repository, blobs, unreadable, cancellationToken));
            var gaps = unreadable.Count == 0 ? [] : new List<string>
            {
                $"{unreadable.Count} object(s) of the storage could not be read, so the GC's mark phase cannot be known " +
                $"(e.g. {string.Join("; ", unreadable.Take(GapExamples))})",
            };
            return (new GcGraph(repositories, blobs), new GraphCompleteness(gaps));
        }
        catch (RegistryStorageException e)
        {
            return (empty, new GraphCompleteness([$"the registry's storage could not be listed: {e.Message}"]));
        }
    }

    private async Task<GcRepository> ReadRepositoryAsync(string repository, HashSet<string> blobs, List<string> unreadable, CancellationToken cancellationToken)
    {
        var tagsDirectory = storage.DirectoryExists(RegistryStorageLayout.TagsPath(repository));
        if (tagsDirectory.Outcome == StorageOutcome.Unreadable)
            unreadable.Add(tagsDirectory.Reason!);

        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var tag in storage.ListTagsAsync(repository, cancellationToken))
        {
            var current = await storage.ReadLinkAsync(RegistryStorageLayout.TagCurrentLinkPath(repository, tag), cancellationToken);
            if (current.Outcome == StorageOutcome.Present)
                tags[tag] = current.Value!;
            else if (current.Outcome == StorageOutcome.Unreadable)
                unreadable.Add(current.Reason!);
        }

        var manifests = new List<GcManifest>();
        await foreach (var directory in storage.ListRevisionsAsync(repository, cancellationToken))
        {
            if (await ReadRevisionAsync(repository, directory, blobs, unreadable, cancellationToken) is { } manifest)
                manifests.Add(manifest);
        }

        // Configs and layers this repository's manifests need, and which of them it serves (its layer link is there).
        var needed = manifests.SelectMany(m => m.References ?? []).Where(r => r.Kind != ReferenceKind.ChildManifest)
            .Select(r => r.Digest).ToHashSet(StringComparer.Ordinal);
        var unavailable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var digest in needed)
        {
            var link = await storage.ReadLinkAsync(RegistryStorageLayout.LayerLinkPath(repository, digest), cancellationToken);
            if (link.Outcome == StorageOutcome.Missing || (link.Outcome == StorageOutcome.Present && !blobs.Contains(link.Value!)))
                unavailable.Add(digest);
            else if (link.Outcome == StorageOutcome.Unreadable)
                unreadable.Add(link.Reason!);
        }
        return new GcRepository(repository, manifests, tags, tagsDirectory.Outcome != StorageOutcome.Missing, unavailable);
    }

    /// <summary>As the manifest enumeration: the link's digest, if its own revision link is there and its data exists; null when skipped.</summary>
    private async Task<GcManifest?> ReadRevisionAsync(string repository, string directory, HashSet<string> blobs, List<string> unreadable, CancellationToken cancellationToken)
    {
        var link = await storage.ReadLinkAsync(RegistryStorageLayout.RevisionLinkPath(repository, directory), cancellationToken);
        if (link.Outcome == StorageOutcome.Unreadable)
            unreadable.Add(link.Reason!);
        if (link.Outcome != StorageOutcome.Present)
            return null;
        var digest = link.Value!;
        if (digest != directory)
        {
            var own = await storage.ReadLinkAsync(RegistryStorageLayout.RevisionLinkPath(repository, digest), cancellationToken);
            if (own.Outcome == StorageOutcome.Unreadable)
                unreadable.Add(own.Reason!);
            if (own.Outcome != StorageOutcome.Present || own.Value != digest)
                return null;
        }
        if (!blobs.Contains(digest))
            return null;
        var data = await storage.ReadBlobAsync(digest, maxManifestBytes, whole: true, cancellationToken);
        if (data.Outcome == StorageOutcome.Missing)
            return null;
        if (data.Outcome == StorageOutcome.Unreadable)
        {
            unreadable.Add($"{repository}@{digest}: {data.Reason}");
            return null;
        }
        try
        {
            var document = ManifestDocument.Parse(data.Value!, contentType: null);
            // GC marks foreign layers' digests too; only those whose data exists here can matter.
            var references = document.References.Where(r => !r.IsForeign || blobs.Contains(r.Digest))
                .Select(r => new GcReference(r.Digest, r.Kind)).ToList();
            return new GcManifest(digest, references, document.Subject, document.MediaType);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return new GcManifest(digest, References: null); // the GC cannot read it either: it fails on it
        }
    }
}
