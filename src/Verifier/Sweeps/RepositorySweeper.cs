using System.Collections.Concurrent;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Storage;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Sweeps;

public sealed record RepositorySweepResult(int ManifestsChecked, int TagsSeen, string? Problem);

/// <summary>
/// Sweeps one repository: every tag (all of them, every page), every manifest they point at and
/// every manifest already known there, with one shared cache so no object is requested twice.
/// The store's tags are reconciled only from a complete tag listing: a registry that could not
/// answer is never a reason to remove anything.
/// </summary>
public sealed class RepositorySweeper(
    RegistryClient registry, ManifestWalker walker, IVerdictStore verdicts, ISweepStore sweeps,
    SweepMetrics metrics, Microsoft.Extensions.Options.IOptions<SweepOptions> options, TimeProvider time)
{
    private const int MaxTagPages = 100_000;

    public async Task<RepositorySweepResult> SweepAsync(string repository, CancellationToken cancellationToken)
    {
        var listedAt = time.GetUtcNow();
        var (tags, listingProblem) = await ListTagsAsync(repository, cancellationToken);
        var resolved = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var unresolved = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(tags, new ParallelOptions { MaxDegreeOfParallelism = options.Value.ConcurrentWalks, CancellationToken = cancellationToken },
            async (tag, ct) =>
            {
                var (digest, probe) = await registry.ResolveTagAsync(repository, tag, ct);
                if (digest is not null)
                    resolved[tag] = digest;
                else if (probe.Outcome == ProbeOutcome.Indeterminate)
                    unresolved.Add(tag);
            });

        var digests = resolved.Values
            .Concat(await sweeps.ListVerifiedManifestsAsync(repository, cancellationToken))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var probes = new RegistryProbeCache(registry, repository);
        var checkedCount = 0;
        await Parallel.ForEachAsync(digests, new ParallelOptions { MaxDegreeOfParallelism = options.Value.ConcurrentWalks, CancellationToken = cancellationToken },
            async (digest, ct) =>
            {
                var observedAt = time.GetUtcNow();
                var walk = await walker.WalkAsync(probes, digest, ct);
                await verdicts.SaveWalkAsync(walk, observedAt, tag: null, processedEvent: null, ct);
                Interlocked.Increment(ref checkedCount);
            });
        metrics.CountManifestsChecked(checkedCount);

        if (listingProblem is null && unresolved.IsEmpty)
            await sweeps.ReconcileTagsAsync(repository, resolved, listedAt, cancellationToken);
        var problem = listingProblem ?? (unresolved.IsEmpty ? null : $"{unresolved.Count} tag(s) could not be resolved");
        return new RepositorySweepResult(checkedCount, tags.Count, problem);
    }

    private async Task<(List<string> Tags, string? Problem)> ListTagsAsync(string repository, CancellationToken cancellationToken)
    {
        var tags = new List<string>();
        string? next = null;
        for (var page = 0; page < MaxTagPages; page++)
        {
            var result = await registry.ListTagsAsync(repository, next, cancellationToken);
            switch (result.Probe.Outcome)
            {
                case ProbeOutcome.Missing:
                    return ([], null); // the repository is gone: every tag vanished
                case ProbeOutcome.Indeterminate:
                    return (tags, $"tag listing failed: {result.Probe.Reason} ({result.Probe.StatusCode})");
            }
            tags.AddRange(result.Names.Where(ReferenceGrammar.IsTag));
            next = result.Next;
            if (next is null)
                return (tags.Distinct(StringComparer.Ordinal).ToList(), null);
        }
        return (tags, $"more than {MaxTagPages} tag pages");
    }
}
