namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>What a garbage collection run would do: the revisions it unlinks and the blobs it deletes, or why it fails.</summary>
/// <param name="Failure">Set when the run stops during its mark phase: it then deletes nothing.</param>
/// <param name="DeletedManifests">repository -> digests whose revision link is removed (untagged, with <c>--delete-untagged</c>).</param>
/// <param name="DeletedBlobs">Blobs (manifest data included) that nothing marked.</param>
/// <param name="Skipped">repository -> digests 3.x neither marks nor deletes (no tags directory): their link stays, their data may go.</param>
public sealed record GcOutcome(
    string? Failure,
    IReadOnlyDictionary<string, IReadOnlySet<string>> DeletedManifests,
    IReadOnlySet<string> DeletedBlobs,
    IReadOnlyDictionary<string, IReadOnlySet<string>> Skipped)
{
    public bool ManifestDeleted(string repository, string digest) =>
        DeletedManifests.TryGetValue(repository, out var digests) && digests.Contains(digest);
}

/// <summary>
/// The mark and sweep phases of distribution's <c>registry garbage-collect</c>
/// (registry/storage/garbagecollect.go), simulated over a <see cref="GcGraph"/>:
/// <list type="bullet">
/// <item>Repositories are enumerated in storage order, their revisions in digest order; the mark set is shared by all.</item>
/// <item>Plain: every revision is marked with its direct references (2.8), or recursively through the child manifests
/// that are revisions of the same repository (3.x; a reference already marked is not descended into).</item>
/// <item><c>--delete-untagged</c>: a revision no tag's current link names is not marked; it is queued for deletion
/// (2.8: deleted whatever marks it later, so the untagged children of a tagged index go; 3.x: deleted only if
/// nothing marked it, PR #4285). <c>subject</c> is never followed, so an untagged referrer goes in both.</item>
/// <item>A repository without a tags directory makes 2.8 fail as a whole when it holds an untagged revision;
/// 3.x skips such a revision (neither marked nor deleted).</item>
/// <item>Reading a revision to mark its references fails the run when its data is gone.</item>
/// <item>Sweep: every blob not marked is deleted.</item>
/// </list>
/// </summary>
public static class GcSimulator
{
    public static GcOutcome Run(GcGraph graph, GcMode mode, GcVersion version)
    {
        var marked = new HashSet<string>(StringComparer.Ordinal);
        var candidates = new List<(string Repository, string Digest)>();
        var skipped = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var repository in graph.Repositories.OrderBy(r => r.Name, StorageOrder.Instance))
        {
            var revisions = repository.Manifests.GroupBy(m => m.Digest, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var tagged = repository.Tags.Values.ToHashSet(StringComparer.Ordinal);
            foreach (var manifest in revisions.Values.OrderBy(m => m.Digest, StringComparer.Ordinal))
            {
                if (mode == GcMode.DeleteUntagged && !tagged.Contains(manifest.Digest))
                {
                    if (!repository.TagsDirectoryExists)
                    {
                        if (version == GcVersion.V2_8)
                            return Failed($"repository '{repository.Name}' has no tags directory (_manifests/tags): 2.8 fails with 'failed to retrieve tags ... repository name not known to registry' when it meets the untagged {manifest.Digest}, and deletes nothing");
                        AddTo(skipped, repository.Name, manifest.Digest);
                        continue;
                    }
                    candidates.Add((repository.Name, manifest.Digest));
                    continue;
                }
                marked.Add(manifest.Digest);
                var failure = version == GcVersion.V2_8
                    ? MarkDirect(graph, repository, manifest, marked)
                    : MarkRecursively(graph, repository.Name, revisions, manifest, marked, depth: 0);
                if (failure is not null)
                    return Failed(failure);
            }
        }

        var deletedManifests = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var (repository, digest) in candidates)
        {
            // 3.x spares an untagged revision that something marked (a tagged index's child); 2.8 does not look.
            if (version == GcVersion.V3 && marked.Contains(digest))
                continue;
            AddTo(deletedManifests, repository, digest);
        }
        var deletedBlobs = graph.Blobs.Where(b => !marked.Contains(b)).ToHashSet(StringComparer.Ordinal);
        return new GcOutcome(null, deletedManifests, deletedBlobs, skipped);
    }

    private static string? MarkDirect(GcGraph graph, GcRepository repository, GcManifest manifest, HashSet<string> marked)
    {
        if (Unreadable(graph, manifest) is { } failure)
            return $"{repository.Name}@{manifest.Digest}: {failure}";
        foreach (var reference in manifest.References!)
            marked.Add(reference.Digest);
        return null;
    }

    private static string? MarkRecursively(
        GcGraph graph, string repository, IReadOnlyDictionary<string, GcManifest> revisions, GcManifest manifest, HashSet<string> marked, int depth)
    {
        if (Unreadable(graph, manifest) is { } failure)
            return $"{repository}@{manifest.Digest}: {failure}";
        if (depth > 64)
            return $"{repository}@{manifest.Digest}: references nested deeper than 64 levels";
        foreach (var reference in manifest.References!)
        {
            if (!marked.Add(reference.Digest))
                continue;
            // Exists: the revision link and its data are there.
            if (revisions.TryGetValue(reference.Digest, out var child) && graph.Blobs.Contains(child.Digest))
            {
                if (MarkRecursively(graph, repository, revisions, child, marked, depth + 1) is { } childFailure)
                    return childFailure;
            }
        }
        return null;
    }

    private static string? Unreadable(GcGraph graph, GcManifest manifest) =>
        !graph.Blobs.Contains(manifest.Digest) ? "the revision's data is gone: GC fails with 'failed to retrieve manifest for digest' and deletes nothing"
        : manifest.References is null ? "the manifest's content is unknown" : null;

    private static GcOutcome Failed(string reason) => new(
        reason, new Dictionary<string, IReadOnlySet<string>>(), new HashSet<string>(), new Dictionary<string, IReadOnlySet<string>>());

    private static void AddTo(Dictionary<string, IReadOnlySet<string>> sets, string repository, string digest)
    {
        if (!sets.TryGetValue(repository, out var set))
            sets[repository] = set = new HashSet<string>(StringComparer.Ordinal);
        ((HashSet<string>)set).Add(digest);
    }

    /// <summary>The order the storage driver walks repository folders in: path segment by segment.</summary>
    private sealed class StorageOrder : IComparer<string>
    {
        public static readonly StorageOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = (x ?? "").Split('/');
            var b = (y ?? "").Split('/');
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var c = string.CompareOrdinal(a[i], b[i]);
                if (c != 0)
                    return c;
            }
            return a.Length.CompareTo(b.Length);
        }
    }
}
