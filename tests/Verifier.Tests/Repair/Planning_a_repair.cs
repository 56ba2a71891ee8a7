using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Repair;

/// <summary>The planner alone: from a broken walk and what is known of the graph, what to copy and in which order.</summary>
public sealed class Planning_a_repair
{
    private static string D(char c) => "sha256:" + new string(c, 64);

    private static readonly string Index = D('1'), Child = D('2'), Other = D('3'), Nested = D('4'), Config = D('a'), Layer = D('b'), Layer2 = D('c');

    private static WalkResult Walk(string root, IReadOnlyList<MissingObject> missing, IReadOnlyList<Edge>? edges = null, IEnumerable<string>? present = null) =>
        new(Repository: "team/app", Digest: root, MediaType: null, VerdictResult.Broken, missing, [], edges ?? [], new Dictionary<string, string?>(), new Dictionary<string, string>())
        {
            Present = [.. present ?? []],
        };

    private static RepairGraph Graph(
        WalkResult walk, Dictionary<string, ManifestDocument>? documents = null, IEnumerable<string>? present = null, IEnumerable<string>? absent = null,
        IEnumerable<string>? unavailable = null) =>
        new(walk, documents ?? [], new HashSet<string>(present ?? walk.Present), new HashSet<string>(absent ?? []), new HashSet<string>(unavailable ?? []));

    private static ManifestDocument Image(params (ReferenceKind Kind, string Digest)[] references) =>
        new(ManifestMediaTypes.OciManifest, [.. references.Select(r => new Descriptor(r.Kind, r.Digest, null, 10, false))], null);

    private static ManifestDocument IndexOf(params string[] children) =>
        new(ManifestMediaTypes.OciIndex, [.. children.Select(c => new Descriptor(ReferenceKind.ChildManifest, c, ManifestMediaTypes.OciManifest, 10, false))], null);

    [Fact]
    public void Blobs_a_present_child_lost_to_garbage_collection_are_copied_and_nothing_else()
    {
        var walk = Walk(Index,
            [new MissingObject("config", Config, [Index, Child], 404, "BLOB_UNKNOWN"), new MissingObject("layer", Layer, [Index, Child], 404, "BLOB_UNKNOWN")],
            [new Edge(Index, Child, ReferenceKind.ChildManifest), new Edge(Child, Config, ReferenceKind.Config), new Edge(Child, Layer, ReferenceKind.Layer)],
            present: [Index, Child]);

        var plan = RepairPlanner.Plan(Graph(walk));

        Assert.True(plan.Complete);
        Assert.Equal([Config, Layer], plan.Steps.Select(s => s.Digest));
        Assert.All(plan.Steps, s => Assert.Equal((RepairObjectKind.Blob, Child), (s.Kind, s.Parent)));
    }

    [Fact]
    public void A_missing_child_manifest_must_be_read_from_a_source_before_its_blobs_can_be_planned()
    {
        var walk = Walk(Index, [new MissingObject("child-manifest", Child, [Index], 404, "MANIFEST_UNKNOWN")], [new Edge(Index, Child, ReferenceKind.ChildManifest)], [Index]);

        var first = RepairPlanner.Plan(Graph(walk));

        Assert.False(first.Complete);
        Assert.Equal([Child], first.NeedDocuments);
        var documents = new Dictionary<string, ManifestDocument> { [Child] = Image((ReferenceKind.Config, Config), (ReferenceKind.Layer, Layer)) };
        var second = RepairPlanner.Plan(Graph(walk, documents));
        Assert.Equal([Config, Layer], second.NeedProbes.Select(p => p.Digest));
        Assert.Equal([Child], second.Steps.Select(s => s.Digest));

        var third = RepairPlanner.Plan(Graph(walk, documents, present: [Index, Config], absent: [Layer]));

        Assert.True(third.Complete);
        Assert.Equal([(RepairObjectKind.Blob, Layer), (RepairObjectKind.Manifest, Child)], third.Steps.Select(s => (s.Kind, s.Digest)));
    }

    [Fact]
    public void Blobs_come_first_then_manifests_children_before_their_parents_up_to_a_missing_root()
    {
        // A dangling tag: the root index itself is gone, and so is a nested index and its image.
        var walk = Walk(Index, [new MissingObject("manifest", Index, [], 404, "MANIFEST_UNKNOWN")]);
        var documents = new Dictionary<string, ManifestDocument>
        {
            [Index] = IndexOf(Nested, Other),
            [Nested] = IndexOf(Child),
            [Child] = Image((ReferenceKind.Config, Config), (ReferenceKind.Layer, Layer)),
            [Other] = Image((ReferenceKind.Config, Config), (ReferenceKind.Layer, Layer2)),
        };

        var plan = RepairPlanner.Plan(Graph(walk, documents, absent: [Nested, Child, Other, Config, Layer, Layer2]));

        Assert.True(plan.Complete);
        var order = plan.Steps.Select(s => s.Digest).ToList();
        Assert.Equal(7, order.Count);
        Assert.All(plan.Steps.Take(3), s => Assert.Equal(RepairObjectKind.Blob, s.Kind));
        Assert.True(order.IndexOf(Child) < order.IndexOf(Nested));
        Assert.True(order.IndexOf(Nested) < order.IndexOf(Index));
        Assert.True(order.IndexOf(Other) < order.IndexOf(Index));
        Assert.Equal(Index, order[^1]);
        Assert.Single(plan.Steps, s => s.Digest == Config);
    }

    [Fact]
    public void Objects_the_registry_still_has_are_not_copied_and_foreign_layers_are_never_asked_for()
    {
        var walk = Walk(Index, [new MissingObject("child-manifest", Child, [Index], 404, "MANIFEST_UNKNOWN")], [new Edge(Index, Child, ReferenceKind.ChildManifest)], [Index]);
        var foreign = new Descriptor(ReferenceKind.Layer, Layer2, null, 10, IsForeign: true);
        var documents = new Dictionary<string, ManifestDocument>
        {
            [Child] = new(ManifestMediaTypes.DockerManifest, [new Descriptor(ReferenceKind.Config, Config, null, 10, false), foreign], null),
        };

        var plan = RepairPlanner.Plan(Graph(walk, documents, present: [Index, Config]));

        Assert.True(plan.Complete);
        Assert.Equal([Child], plan.Steps.Select(s => s.Digest));
    }

    [Fact]
    public void A_manifest_no_source_has_stays_in_the_plan_without_anything_under_it()
    {
        var walk = Walk(Index, [new MissingObject("child-manifest", Child, [Index], 404, "MANIFEST_UNKNOWN")], [new Edge(Index, Child, ReferenceKind.ChildManifest)], [Index]);

        var plan = RepairPlanner.Plan(Graph(walk, unavailable: [Child]));

        Assert.True(plan.Complete);
        Assert.Equal([Child], plan.Steps.Select(s => s.Digest));
    }

    [Fact]
    public void A_blob_served_with_the_wrong_size_is_not_copyable_and_says_why()
    {
        var walk = Walk(Child, [new MissingObject("layer", Layer, [Child], 200, RegistryClient.SizeMismatch)], present: [Child]);

        var plan = RepairPlanner.Plan(Graph(walk));

        Assert.Empty(plan.Steps);
        var (missing, reason) = Assert.Single(plan.NotCopyable);
        Assert.Equal(Layer, missing.Digest);
        Assert.Contains("size", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plan_holds_only_copies_by_digest()
    {
        var walk = Walk(Index, [new MissingObject("manifest", Index, [], 404, "MANIFEST_UNKNOWN")]);
        var documents = new Dictionary<string, ManifestDocument> { [Index] = IndexOf(Child), [Child] = Image((ReferenceKind.Layer, Layer)) };

        var plan = RepairPlanner.Plan(Graph(walk, documents, absent: [Child, Layer]));

        Assert.All(plan.Steps, s => Assert.Matches("^sha256:[0-9a-f]{64}$", s.Digest));
        Assert.Equal(plan.Steps.Count, plan.Steps.Select(s => s.Digest).Distinct().Count());
    }
}
