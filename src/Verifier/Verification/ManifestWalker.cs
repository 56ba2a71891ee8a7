using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.Json;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>
/// Walks a manifest tree (index -> child manifests -> config and layer blobs) and says whether it
/// can be pulled whole. Each (repository, digest) is requested once per walk; siblings are checked
/// concurrently, within the registry client's concurrency limit.
/// </summary>
/// <param name="registry">Null where there is no registry to ask (the storage scan): walks then get their answers from an <see cref="IProbeSource"/> given to them.</param>
public sealed class ManifestWalker(RegistryClient? registry, TimeProvider time)
{
    public const int MaxDepth = 8;

    public Task<WalkResult> WalkAsync(string repository, string digest, CancellationToken cancellationToken) =>
        WalkAsync(CreateCache(repository), digest, cancellationToken);

    public RegistryProbeCache CreateCache(string repository) =>
        new(registry ?? throw new InvalidOperationException("no registry is configured: give the walk a probe source"), repository, time);

    /// <summary>Walks with a cache shared by several walks of one repository (a sweep), so no object is requested twice.</summary>
    public async Task<WalkResult> WalkAsync(IProbeSource probes, string digest, CancellationToken cancellationToken)
    {
        var walk = new Walk(probes, cancellationToken);
        var startedAt = time.GetUtcNow();
        await walk.VisitManifestAsync(digest, ImmutableList<string>.Empty);
        return walk.Result(digest, startedAt);
    }

    private sealed class Walk(IProbeSource probes, CancellationToken cancellationToken)
    {
        // Lazy: GetOrAdd may run a value factory twice under a race, which would walk a subtree twice.
        private readonly ConcurrentDictionary<string, Lazy<Task>> _visitedManifests = new();
        private readonly ConcurrentDictionary<string, byte> _checkedBlobs = new();
        private readonly ConcurrentDictionary<string, string?> _manifests = new();
        private readonly ConcurrentBag<MissingObject> _missing = [];
        private readonly ConcurrentBag<string> _indeterminate = [];
        private readonly ConcurrentBag<Edge> _edges = [];
        private readonly ConcurrentDictionary<string, string> _subjects = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, byte> _present = new(StringComparer.Ordinal);
        private long _oldestAnswerTicks = long.MaxValue;

        /// <param name="expectedSize">The size the parent's descriptor states: a pull fails when the manifest is not that long.</param>
        public Task VisitManifestAsync(string digest, ImmutableList<string> path, long? expectedSize = null)
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
            return _visitedManifests.GetOrAdd(digest, _ => new Lazy<Task>(() => VisitOnceAsync(digest, path, expectedSize))).Value;
        }

        private async Task VisitOnceAsync(string digest, ImmutableList<string> path, long? expectedSize)
        {
            var kind = path.IsEmpty ? "manifest" : "child-manifest";
            var (response, askedAt) = await probes.GetManifestAsync(digest, cancellationToken);
            if (!Record(response.Probe, askedAt, kind, digest, path))
                return;
            // Only a body proven to be the object asked for can be said to have the wrong size.
            if (expectedSize is { } size && response.DigestVerified && response.Body!.Length != size)
                _missing.Add(new MissingObject(kind, digest, path, 200, RegistryClient.SizeMismatch));

            ManifestDocument document;
            try
            {
                document = ManifestDocument.Parse(response.Body!, response.MediaType);
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
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
                    visits.Add(VisitManifestAsync(reference.Digest, childPath, reference.Size));
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
            var (probe, askedAt) = await probes.CheckBlobAsync(blob.Digest, blob.Size, cancellationToken);
            Record(probe, askedAt, blob.Kind == ReferenceKind.Config ? "config" : "layer", blob.Digest, path);
        }

        /// <summary>Records a missing or indeterminate object; true when it is present.</summary>
        private bool Record(ProbeResult probe, DateTimeOffset askedAt, string kind, string digest, ImmutableList<string> path)
        {
            InterlockedMin(ref _oldestAnswerTicks, askedAt.UtcTicks);
            switch (probe.Outcome)
            {
                case ProbeOutcome.Missing:
                    _missing.Add(new MissingObject(kind, digest, path, probe.StatusCode, probe.ErrorCode));
                    return false;
                case ProbeOutcome.Indeterminate:
                    _indeterminate.Add($"{kind} {digest}: {probe.Reason}{(probe.StatusCode is { } code ? $" ({code}{(probe.ErrorCode is { } error ? $" {error}" : "")})" : "")}");
                    return false;
                default:
                    _present.TryAdd(digest, 0);
                    return true;
            }
        }

        private static void InterlockedMin(ref long target, long value)
        {
            var current = Interlocked.Read(ref target);
            while (value < current)
            {
                var seen = Interlocked.CompareExchange(ref target, value, current);
                if (seen == current)
                    return;
                current = seen;
            }
        }

        public WalkResult Result(string root, DateTimeOffset startedAt)
        {
            var oldest = Interlocked.Read(ref _oldestAnswerTicks);
            var result = !_missing.IsEmpty ? VerdictResult.Broken
                : !_indeterminate.IsEmpty ? VerdictResult.Indeterminate
                : VerdictResult.Healthy;
            return new WalkResult(
                probes.Repository, root, _manifests.GetValueOrDefault(root), result,
                [.. _missing.OrderBy(m => m.Path.Count).ThenBy(m => m.Digest, StringComparer.Ordinal)],
                [.. _indeterminate.Order(StringComparer.Ordinal)],
                [.. _edges.Distinct()],
                _manifests.ToDictionary(),
                _subjects.ToDictionary())
            {
                ObservedAt = oldest == long.MaxValue ? startedAt : new DateTimeOffset(oldest, TimeSpan.Zero),
                Present = [.. _present.Keys],
            };
        }
    }
}
