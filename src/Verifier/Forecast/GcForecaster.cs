using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>An object an image needs: what it is, and the path to it from the tag (<c>repo:tag</c>, index, child, ..., the object).</summary>
public sealed record ForecastObject(string Kind, string Digest, IReadOnlyList<string> Path, string Reason);

/// <param name="Tag">Set for a tagged image; null for an image a tagged image references (a child of an index).</param>
/// <param name="Status"><c>breaks</c> (pullable now, not after the GC), <c>already-broken</c>, or <c>intact</c>.</param>
/// <param name="Breaks">What the GC would delete that this image needs.</param>
/// <param name="AlreadyMissing">What this image needs and the registry already lacks.</param>
/// <param name="LostReferrers">Untagged referrers (signatures, SBOMs) about this image that the GC would delete: the image still pulls.</param>
public sealed record ImageForecast(
    string Repository, string? Tag, string Digest, string Status, IReadOnlyList<string> ReferencedFrom,
    IReadOnlyList<ForecastObject> Breaks, IReadOnlyList<ForecastObject> AlreadyMissing, IReadOnlyList<ForecastObject> LostReferrers);

public sealed record ForecastManifest(string Repository, string Digest);

public sealed record ForecastSummary(
    int TaggedImages, int TaggedImagesBroken, int TaggedImagesAlreadyBroken, int ReferencedImagesBroken,
    int ManifestsDeleted, int BlobsDeleted, int ReferrersDeleted);

/// <summary>What a GC run would do to the registry, and to every tagged image.</summary>
/// <param name="Result"><c>safe</c>, <c>would-break</c>, <c>gc-fails</c> (the run would stop before deleting anything) or <c>incomplete</c>.</param>
/// <param name="Images">Only the images the GC would break, that are broken already, or that would lose referrers.</param>
public sealed record GcForecast(
    string Result, string Mode, string Version, string Source, DateTimeOffset ComputedAt, string? GcFailure, IReadOnlyList<string> Gaps,
    ForecastSummary Summary, IReadOnlyList<ImageForecast> Images, IReadOnlyList<ForecastManifest> DeletedManifests, IReadOnlyList<string> DeletedBlobs)
{
    public const string Safe = "safe", WouldBreak = "would-break", GcFails = "gc-fails", Incomplete = "incomplete";

    /// <summary>0 nothing tagged would break, 1 something would, 2 the graph is incomplete (no confident answer).</summary>
    public int ExitCode => Result switch { WouldBreak => 1, Incomplete => 2, _ => 0 };
}

/// <summary>Walks every tagged image over the graph as it is and as <see cref="GcSimulator"/> says the GC leaves it.</summary>
public static class GcForecaster
{
    public const int MaxDepth = 16;

    public static string ModeName(GcMode mode) => mode == GcMode.Plain ? "plain" : "delete-untagged";

    public static string VersionName(GcVersion version) => version == GcVersion.V2_8 ? "2.8" : "3";

    public static bool TryParseMode(string? text, out GcMode mode)
    {
        (var ok, mode) = text switch
        {
            "plain" => (true, GcMode.Plain),
            "delete-untagged" => (true, GcMode.DeleteUntagged),
            _ => (false, GcMode.Plain),
        };
        return ok;
    }

    public static bool TryParseVersion(string? text, out GcVersion version)
    {
        (var ok, version) = text switch
        {
            "2.8" or "2" or "2.8.x" => (true, GcVersion.V2_8),
            "3" or "3.x" => (true, GcVersion.V3),
            _ => (false, GcVersion.V2_8),
        };
        return ok;
    }

    public static GcForecast Forecast(GcGraph graph, GraphCompleteness completeness, GcMode mode, GcVersion version, string source, DateTimeOffset now)
    {
        var outcome = GcSimulator.Run(graph, mode, version);
        var images = new List<ImageForecast>();
        int tagged = 0, taggedBroken = 0, taggedAlready = 0, referencedBroken = 0, referrersDeleted = 0;
        foreach (var repository in graph.Repositories.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            var walker = new ImageWalker(graph, repository, outcome, mode, version);
            var lostReferrers = LostReferrers(repository, outcome);
            referrersDeleted += lostReferrers.Sum(r => r.Value.Count);
            var referenced = new Dictionary<string, (List<string> From, ImageWalker.Node Node)>(StringComparer.Ordinal);
            foreach (var (tag, digest) in repository.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                tagged++;
                var root = $"{repository.Name}:{tag}";
                var node = walker.Visit(digest, []);
                var status = Status(node);
                taggedBroken += status == "breaks" ? 1 : 0;
                taggedAlready += status == "already-broken" ? 1 : 0;
                var lost = lostReferrers.GetValueOrDefault(digest, []).Select(r => r with { Path = [root, .. r.Path] }).ToList();
                if (status != "intact" || lost.Count > 0)
                    images.Add(new ImageForecast(repository.Name, tag, digest, status, [root], Prefix(root, node.Breaks), Prefix(root, node.Missing), lost));
                foreach (var (child, path) in node.Children)
                {
                    if (!referenced.TryGetValue(child, out var seen))
                        referenced[child] = seen = ([], walker.Visit(child, []));
                    seen.From.Add(string.Join(" -> ", [root, .. path]));
                }
            }
            foreach (var (digest, (from, node)) in referenced.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                var status = Status(node);
                referencedBroken += status == "breaks" ? 1 : 0;
                var lost = lostReferrers.GetValueOrDefault(digest, []);
                if (status != "intact" || lost.Count > 0)
                    images.Add(new ImageForecast(repository.Name, null, digest, status, from, node.Breaks, node.Missing, lost));
            }
        }

        var deletedManifests = outcome.DeletedManifests
            .SelectMany(r => r.Value.Select(d => new ForecastManifest(r.Key, d)))
            .OrderBy(m => m.Repository, StringComparer.Ordinal).ThenBy(m => m.Digest, StringComparer.Ordinal).ToList();
        var summary = new ForecastSummary(tagged, taggedBroken, taggedAlready, referencedBroken, deletedManifests.Count, outcome.DeletedBlobs.Count, referrersDeleted);
        var result = !completeness.IsComplete ? GcForecast.Incomplete
            : outcome.Failure is not null ? GcForecast.GcFails
            : taggedBroken > 0 || referencedBroken > 0 ? GcForecast.WouldBreak
            : GcForecast.Safe;
        return new GcForecast(
            result, ModeName(mode), VersionName(version), source, now, outcome.Failure, completeness.Gaps, summary, images,
            deletedManifests, [.. outcome.DeletedBlobs.Order(StringComparer.Ordinal)]);
    }

    private static string Status(ImageWalker.Node node) =>
        node.Missing.Count > 0 ? "already-broken" : node.Breaks.Count > 0 ? "breaks" : "intact";

    private static List<ForecastObject> Prefix(string root, IReadOnlyList<ForecastObject> objects) =>
        [.. objects.Select(o => o with { Path = [root, .. o.Path] })];

    /// <summary>Untagged referrers the GC deletes, by the subject they are about (which the GC keeps: <c>subject</c> is not followed).</summary>
    private static Dictionary<string, List<ForecastObject>> LostReferrers(GcRepository repository, GcOutcome outcome)
    {
        var lost = new Dictionary<string, List<ForecastObject>>(StringComparer.Ordinal);
        foreach (var manifest in repository.Manifests)
        {
            if (manifest.Subject is not { } subject || !outcome.ManifestDeleted(repository.Name, manifest.Digest))
                continue;
            if (!lost.TryGetValue(subject, out var list))
                lost[subject] = list = [];
            list.Add(new ForecastObject("referrer", manifest.Digest, [subject, manifest.Digest],
                $"untagged referrer{(manifest.MediaType is { } type ? $" ({type})" : "")} of {subject}: --delete-untagged deletes it, GC never follows subject"));
        }
        return lost;
    }

    /// <summary>Walks manifests of one repository; each digest is evaluated once.</summary>
    private sealed class ImageWalker(GcGraph graph, GcRepository repository, GcOutcome outcome, GcMode mode, GcVersion version)
    {
        private readonly Dictionary<string, GcManifest> _revisions = repository.Manifests
            .GroupBy(m => m.Digest, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
        private readonly IReadOnlySet<string> _unavailable = repository.Unavailable ?? new HashSet<string>();

        /// <param name="Breaks">Paths start at this manifest.</param>
        /// <param name="Children">Every child manifest below, with the path to it from this manifest.</param>
        public sealed record Node(List<ForecastObject> Breaks, List<ForecastObject> Missing, List<(string Digest, IReadOnlyList<string> Path)> Children);

        public Node Visit(string digest, IReadOnlyList<string> ancestors)
        {
            if (_nodes.TryGetValue(digest, out var known))
                return known;
            var node = new Node([], [], []);
            if (ancestors.Contains(digest) || ancestors.Count > MaxDepth)
                return node; // a cycle cannot be pushed (digests); too deep: the registry's own walk would stop too
            if (!Available(digest, manifest: true))
            {
                node.Missing.Add(new ForecastObject("manifest", digest, [digest], "the registry lacks it now"));
                return _nodes[digest] = node;
            }
            if (ManifestLoss(digest, ancestors) is { } loss)
                node.Breaks.Add(new ForecastObject("manifest", digest, [digest], loss));
            var manifest = _revisions[digest];
            IReadOnlyList<string> below = [.. ancestors, digest];
            foreach (var reference in manifest.References ?? [])
            {
                if (reference.Kind == ReferenceKind.ChildManifest)
                {
                    var child = Visit(reference.Digest, below);
                    node.Children.Add((reference.Digest, [digest, reference.Digest]));
                    node.Children.AddRange(child.Children.Select(c => (c.Digest, (IReadOnlyList<string>)[digest, .. c.Path])));
                    node.Breaks.AddRange(child.Breaks.Select(b => b with { Path = [digest, .. b.Path] }));
                    node.Missing.AddRange(child.Missing.Select(b => b with { Path = [digest, .. b.Path] }));
                    continue;
                }
                var kind = reference.Kind == ReferenceKind.Config ? "config" : "layer";
                if (!Available(reference.Digest, manifest: false))
                    node.Missing.Add(new ForecastObject(kind, reference.Digest, [digest, reference.Digest], "the registry lacks it now"));
                else if (outcome.DeletedBlobs.Contains(reference.Digest))
                    node.Breaks.Add(new ForecastObject(kind, reference.Digest, [digest, reference.Digest], BlobLoss(digest)));
            }
            return _nodes[digest] = node;
        }

        private bool Available(string digest, bool manifest) =>
            graph.Blobs.Contains(digest) && !_unavailable.Contains(digest) && (!manifest || _revisions.ContainsKey(digest));

        private string? ManifestLoss(string digest, IReadOnlyList<string> ancestors)
        {
            if (outcome.ManifestDeleted(repository.Name, digest))
            {
                return ancestors.Count > 0 && version == GcVersion.V2_8
                    ? $"untagged child of {ancestors[^1]}: 2.8's --delete-untagged deletes the untagged children of tagged indexes (distribution#3004, #3178)"
                    : "untagged: --delete-untagged deletes its revision";
            }
            if (outcome.DeletedBlobs.Contains(digest))
            {
                return outcome.Skipped.TryGetValue(repository.Name, out var skipped) && skipped.Contains(digest)
                    ? "its repository has no tags directory: 3.x neither marks nor deletes the revision, and sweeps its data"
                    : "its data is not marked by any manifest the GC keeps";
            }
            return null;
        }

        private string BlobLoss(string owner)
        {
            if (outcome.ManifestDeleted(repository.Name, owner))
                return $"referenced only by {owner}, whose revision the GC deletes";
            if (mode == GcMode.DeleteUntagged && version == GcVersion.V2_8)
                return $"2.8 marks only the direct references of a kept revision: {owner} is not kept as a revision, so its blobs are not marked";
            return "not marked by any manifest the GC keeps";
        }
    }
}
