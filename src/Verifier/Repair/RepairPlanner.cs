using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Repair;

public enum RepairObjectKind { Blob, Manifest }

/// <summary>One object to copy into the registry, by digest. A plan holds nothing else: no tag is written, nothing is deleted.</summary>
/// <param name="Role">What it is to the image: <c>config</c>, <c>layer</c>, <c>child-manifest</c> or <c>manifest</c> (the root).</param>
/// <param name="Parent">The manifest that references it (null for the root).</param>
public sealed record RepairStep(RepairObjectKind Kind, string Role, string Digest, long? Size, string? Parent);

/// <summary>What the planner knows: the broken walk, the missing manifests fetched from a source so far, and what the registry holds.</summary>
/// <param name="Documents">Missing manifests read from a source: their references decide what else to copy.</param>
/// <param name="Present">Objects the registry serves (the walk's, and later probes').</param>
/// <param name="Absent">Objects the registry answered missing for when probed.</param>
/// <param name="Unavailable">Missing manifests no source has: what lies under them cannot be known.</param>
public sealed record RepairGraph(
    WalkResult Walk,
    IReadOnlyDictionary<string, ManifestDocument> Documents,
    IReadOnlySet<string> Present,
    IReadOnlySet<string> Absent,
    IReadOnlySet<string> Unavailable);

/// <param name="Steps">Blobs first, then manifests children before parents: each PUT finds what it references already there.</param>
/// <param name="NeedDocuments">Missing manifests whose bytes are not yet read from a source (their children are unknown).</param>
/// <param name="NeedProbes">Objects referenced by a missing manifest whose presence in the registry is unknown.</param>
/// <param name="NotCopyable">Missing objects a copy cannot fix, with the reason (the registry holds the digest with another size).</param>
public sealed record RepairPlan(
    IReadOnlyList<RepairStep> Steps,
    IReadOnlyList<string> NeedDocuments,
    IReadOnlyList<RepairStep> NeedProbes,
    IReadOnlyList<(MissingObject Object, string Reason)> NotCopyable)
{
    public bool Complete => NeedDocuments.Count == 0 && NeedProbes.Count == 0;
}

/// <summary>
/// From a broken verdict's missing objects and the graph, what to copy and in which order. Pure: the executor
/// reads missing manifests and probes the registry, then asks again until <see cref="RepairPlan.Complete"/>.
/// </summary>
public static class RepairPlanner
{
    public static RepairPlan Plan(RepairGraph graph)
    {
        var walk = graph.Walk;
        var steps = new Dictionary<string, RepairStep>(StringComparer.Ordinal);
        var notCopyable = new List<(MissingObject, string)>();
        var needDocuments = new List<string>();
        var needProbes = new Dictionary<string, RepairStep>(StringComparer.Ordinal);
        var children = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var edge in walk.Edges.Where(e => e.Kind == ReferenceKind.ChildManifest))
            AddChild(children, edge.Parent, edge.Child);

        var pending = new Queue<RepairStep>();
        foreach (var missing in walk.Missing)
        {
            if (missing.ErrorCode == RegistryClient.SizeMismatch)
            {
                // The registry holds this digest with another length: an upload of the same digest is a no-op for it.
                notCopyable.Add((missing, "the registry serves this digest with a size other than the descriptor's; a copy cannot replace it"));
                continue;
            }
            var parent = missing.Path.Count > 0 ? missing.Path[^1] : null;
            pending.Enqueue(missing.Kind is "manifest" or "child-manifest"
                ? new RepairStep(RepairObjectKind.Manifest, missing.Kind, missing.Digest, null, parent)
                : new RepairStep(RepairObjectKind.Blob, missing.Kind, missing.Digest, SizeFromEdges(graph, missing.Digest), parent));
        }

        while (pending.TryDequeue(out var step))
        {
            if (!steps.TryAdd(step.Digest, step) || step.Kind == RepairObjectKind.Blob)
                continue;
            if (graph.Unavailable.Contains(step.Digest))
                continue;
            if (!graph.Documents.TryGetValue(step.Digest, out var document))
            {
                needDocuments.Add(step.Digest);
                continue;
            }
            foreach (var reference in document.References.Where(r => !r.IsForeign))
            {
                var isManifest = reference.Kind == ReferenceKind.ChildManifest;
                if (isManifest)
                    AddChild(children, step.Digest, reference.Digest);
                var child = new RepairStep(
                    isManifest ? RepairObjectKind.Manifest : RepairObjectKind.Blob,
                    reference.Kind switch { ReferenceKind.ChildManifest => "child-manifest", ReferenceKind.Config => "config", _ => "layer" },
                    reference.Digest, reference.Size, step.Digest);
                if (steps.ContainsKey(child.Digest) || graph.Present.Contains(child.Digest))
                    continue;
                if (graph.Absent.Contains(child.Digest))
                    pending.Enqueue(child);
                else
                    needProbes.TryAdd(child.Digest, child);
            }
        }

        var blobs = steps.Values.Where(s => s.Kind == RepairObjectKind.Blob);
        var manifests = ChildrenFirst(walk.Digest, children, steps);
        return new RepairPlan([.. blobs, .. manifests], needDocuments, [.. needProbes.Values], notCopyable);
    }

    /// <summary>Manifests to copy in post-order from the root: a parent comes after every child it references.</summary>
    private static List<RepairStep> ChildrenFirst(string root, Dictionary<string, List<string>> children, Dictionary<string, RepairStep> steps)
    {
        var order = new List<RepairStep>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string digest, int depth)
        {
            if (depth > ManifestWalker.MaxDepth + 1 || !visited.Add(digest))
                return;
            foreach (var child in children.GetValueOrDefault(digest) ?? [])
                Visit(child, depth + 1);
            if (steps.TryGetValue(digest, out var step) && step.Kind == RepairObjectKind.Manifest)
                order.Add(step);
        }
        Visit(root, 0);
        // Anything not reached from the root (cannot happen for a walk's own objects) still comes last, in a stable order.
        order.AddRange(steps.Values.Where(s => s.Kind == RepairObjectKind.Manifest && !visited.Contains(s.Digest)));
        return order;
    }

    private static void AddChild(Dictionary<string, List<string>> children, string parent, string child)
    {
        if (!children.TryGetValue(parent, out var list))
            children[parent] = list = [];
        if (!list.Contains(child, StringComparer.Ordinal))
            list.Add(child);
    }

    private static long? SizeFromEdges(RepairGraph graph, string digest) =>
        graph.Documents.Values.SelectMany(d => d.References).FirstOrDefault(r => r.Digest == digest)?.Size;
}
