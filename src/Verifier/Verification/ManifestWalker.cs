using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.Json;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>
/// Walks a manifest tree (index -> child manifests -> config and layer blobs) and says whether it
/// can be pulled whole. Each (repository, digest) is requested once per walk; siblings are checked
/// concurrently, within the registry client's concurrency limit.
/// </summary>
public sealed class ManifestWalker(RegistryClient registry)
{
    public const int MaxDepth = 8;

    public Task<WalkResult> WalkAsync(string repository, string digest, CancellationToken cancellationToken) =>
        WalkAsync(new RegistryProbeCache(registry, repository), digest, cancellationToken);

    /// <summary>Walks with a cache shared by several walks of one repository (a sweep), so no object is requested twice.</summary>
    public async Task<WalkResult> WalkAsync(RegistryProbeCache probes, string digest, CancellationToken cancellationToken)
    {
        var walk = new Walk(probes, cancellationToken);
        await walk.VisitManifestAsync(digest, ImmutableList<string>.Empty);
        return walk.Result(digest);
    }

    private sealed class Walk(RegistryProbeCache probes, CancellationToken cancellationToken)
    {
        // Lazy: GetOrAdd may run a value factory twice under a race, which would walk a subtree twice.
        private readonly ConcurrentDictionary<string, Lazy<Task>> _visitedManifests = new();
        private readonly ConcurrentDictionary<string, byte> _checkedBlobs = new();
        private readonly ConcurrentDictionary<string, string?> _manifests = new();
        private readonly ConcurrentBag<MissingObject> _missing = [];
        private readonly ConcurrentBag<string> _indeterminate = [];
        private readonly ConcurrentBag<Edge> _edges = [];
        private readonly ConcurrentDictionary<string, string> _subjects = new(StringComparer.Ordinal);

        public Task VisitManifestAsync(string digest, ImmutableList<string> path)
        {
            // Digests are verified, so a registry cannot serve a cycle; were one to slip through, waiting on
            // the visit already in progress up the path would never finish.
            if (path.Contains(digest))
            {
                _indeterminate.Add($"{digest}: reference cycle");
                return Task.CompletedTask;
            }
            if (path.Count > MaxDepth)
            {
                _indeterminate.Add($"{digest}: nested deeper than {MaxDepth} levels");
                return Task.CompletedTask;
            }
            return _visitedManifests.GetOrAdd(digest, _ => new Lazy<Task>(() => VisitOnceAsync(digest, path))).Value;
        }

        private async Task VisitOnceAsync(string digest, ImmutableList<string> path)
        {
            var response = await probes.GetManifestAsync(digest, cancellationToken);
            if (!Record(response.Probe, path.IsEmpty ? "manifest" : "child-manifest", digest, path))
                return;

            ManifestDocument document;
            try
            {
                document = ManifestDocument.Parse(response.Body!, response.MediaType);
            }
            catch (Exception e) when (e is JsonException or FormatException)
            {
                _indeterminate.Add($"{digest}: manifest cannot be parsed ({e.Message})");
                return;
            }
            _manifests[digest] = document.MediaType;
            if (document.Subject is { } subject)
                _subjects[digest] = subject;

            var childPath = path.Add(digest);
            var visits = new List<Task>(document.References.Count);
            foreach (var reference in document.References)
            {
                _edges.Add(new Edge(digest, reference.Digest, reference.Kind));
                if (reference.Kind == ReferenceKind.ChildManifest)
                    visits.Add(VisitManifestAsync(reference.Digest, childPath));
                else if (!reference.IsForeign)
                    visits.Add(CheckBlobAsync(reference, childPath));
            }
            await Task.WhenAll(visits);
        }

        private async Task CheckBlobAsync(Descriptor blob, ImmutableList<string> path)
        {
            // A blob shared by several manifests is reported once, on the path of the first that asked.
            if (!_checkedBlobs.TryAdd(blob.Digest, 0))
                return;
            var probe = await probes.CheckBlobAsync(blob.Digest, blob.Size, cancellationToken);
            Record(probe, blob.Kind == ReferenceKind.Config ? "config" : "layer", blob.Digest, path);
        }

        /// <summary>Records a missing or indeterminate object; true when it is present.</summary>
        private bool Record(ProbeResult probe, string kind, string digest, ImmutableList<string> path)
        {
            switch (probe.Outcome)
            {
                case ProbeOutcome.Missing:
                    _missing.Add(new MissingObject(kind, digest, path, probe.StatusCode, probe.ErrorCode));
                    return false;
                case ProbeOutcome.Indeterminate:
                    _indeterminate.Add($"{kind} {digest}: {probe.Reason}{(probe.StatusCode is { } code ? $" ({code}{(probe.ErrorCode is { } error ? $" {error}" : "")})" : "")}");
                    return false;
                default:
                    return true;
            }
        }

        public WalkResult Result(string root)
        {
            var result = !_missing.IsEmpty ? VerdictResult.Broken
                : !_indeterminate.IsEmpty ? VerdictResult.Indeterminate
                : VerdictResult.Healthy;
            return new WalkResult(
                probes.Repository, root, _manifests.GetValueOrDefault(root), result,
                [.. _missing.OrderBy(m => m.Path.Count).ThenBy(m => m.Digest, StringComparer.Ordinal)],
                [.. _indeterminate.Order(StringComparer.Ordinal)],
                [.. _edges.Distinct()],
                _manifests.ToDictionary(),
                _subjects.ToDictionary());
        }
    }
}
