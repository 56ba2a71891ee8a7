using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Verdicts;

public enum VerdictResult { Healthy, Broken, Indeterminate }

/// <summary>An object the registry answered 404 for. <see cref="Path"/> runs from the walked root to its parent.</summary>
public sealed record MissingObject(string Kind, string Digest, IReadOnlyList<string> Path, int? StatusCode, string? ErrorCode);

public sealed record Edge(string Parent, string Child, ReferenceKind Kind);

/// <param name="Manifests">Every manifest the walk fetched, with its media type.</param>
/// <param name="Subjects">Artifact manifest -> the manifest it is about (<c>subject</c>): a back-reference, not a child.</param>
public sealed record WalkResult(
    string Repository,
    string Digest,
    string? MediaType,
    VerdictResult Result,
    IReadOnlyList<MissingObject> Missing,
    IReadOnlyList<string> IndeterminateReasons,
    IReadOnlyList<Edge> Edges,
    IReadOnlyDictionary<string, string?> Manifests,
    IReadOnlyDictionary<string, string> Subjects)
{
    /// <summary>The walked manifest itself is gone (deleted or swept), not an image with a hole in it.</summary>
    public bool RootMissing => Missing.Any(m => m.Path.Count == 0);

    /// <summary>
    /// When the oldest registry answer this walk rests on was asked for. A sweep shares answers between
    /// walks, so a walk that starts late may still rest on an answer from before a delete: it is as old
    /// as that answer, and a verdict observed later wins over it.
    /// </summary>
    public DateTimeOffset? ObservedAt { get; init; }

    /// <summary>Every object (manifest or blob) the registry showed present during this walk.</summary>
    public IReadOnlyCollection<string> Present { get; init; } = [];
}
