using System.Collections.Concurrent;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Sweeps;

public sealed record RepositorySweepResult(int ManifestsChecked, int TagsSeen, string? Problem);

/// <summary>
/// Sweeps one repository through its <see cref="ISweepSource"/> (the registry's API or its storage): every tag (all of them, every page), every manifest they point at and
/// every manifest already known there, with one shared cache so no object is requested twice.
/// The store's tags are reconciled only from a complete tag listing: a registry that could not
/// answer is never a reason to remove anything.
/// </summary>
public sealed class RepositorySweeper(
    ISweepSource source, ManifestWalker walker, IVerdictStore verdicts, ISweepStore sweeps,
    SweepMetrics metrics, Microsoft.Extensions.Options.IOptions<SweepOptions> options, TimeProvider time, ILogger<RepositorySweeper> logger)
{
    public async Task<RepositorySweepResult> SweepAsync(string repository, CancellationToken cancellationToken)
    {
        var listedAt = time.GetUtcNow();
        var (tags, listingProblem, noTagsDirectory) = await source.ListTagsAsync(repository, cancellationToken);
        if (listingProblem is null)
            await sweeps.RecordTagDirectoryAsync(repository, noTagsDirectory, listedAt, cancellationToken);
        var resolved = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var unresolved = new ConcurrentBag<string>();
        var dangling = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(tags, new ParallelOptions { MaxDegreeOfParallelism = options.Value.ConcurrentWalks, CancellationToken = cancellationToken },
            async (tag, ct) =>
            {
                var (digest, probe) = await source.ResolveTagAsync(repository, tag, ct);
                if (digest is not null)
                    resolved[tag] = digest;
                else if (probe.Outcome == ProbeOutcome.Indeterminate)
                    unresolved.Add(tag);
                else
                    dangling.Add(tag);
            });
        var danglingTags = await ConfirmDanglingAsync(repository, dangling, cancellationToken);

        var digests = resolved.Values
            .Concat(await sweeps.ListVerifiedManifestsAsync(repository, cancellationToken))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var probes = new ProbesRenewedAfterOutages(source.CreateProbes(repository), time);
        var checkedCount = 0;
        var gone = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(digests, new ParallelOptions { MaxDegreeOfParallelism = options.Value.ConcurrentWalks, CancellationToken = cancellationToken },
            async (digest, ct) =>
            {
                var walk = await VerificationService.WalkAndSaveAsync(walker, probes, verdicts, time, logger, digest, tag: null, ct);
                if (walk.RootMissing)
                    gone.TryAdd(digest, 0);
                Interlocked.Increment(ref checkedCount);
            });
        metrics.CountManifestsChecked(checkedCount);

        // A tag that still resolves (a stale cache answers HEAD) to a manifest whose bytes the registry cannot serve dangles too.
        var servedNothing = resolved.Where(t => gone.ContainsKey(t.Value)).Select(t => t.Key).ToList();
        foreach (var tag in servedNothing)
            resolved.TryRemove(tag, out _);
        if (listingProblem is null && unresolved.IsEmpty && danglingTags.Problem is null)
            await sweeps.ReconcileTagsAsync(repository, resolved, [.. danglingTags.Tags, .. servedNothing], listedAt, cancellationToken);
        var problem = listingProblem ?? danglingTags.Problem ?? (unresolved.IsEmpty ? null : $"{unresolved.Count} tag(s) could not be resolved");
        return new RepositorySweepResult(checkedCount, tags.Count, problem);
    }

    /// <summary>
    /// A listed tag that answers 404 is broken (<c>docker pull</c> fails), unless it was deleted between the
    /// listing and the lookup: the tags still listed by a second listing are the dangling ones.
    /// </summary>
    private async Task<(IReadOnlyCollection<string> Tags, string? Problem)> ConfirmDanglingAsync(
        string repository, IReadOnlyCollection<string> candidates, CancellationToken cancellationToken)
    {
        if (candidates.Count == 0)
            return ([], null);
        var (listed, problem, _) = await source.ListTagsAsync(repository, cancellationToken);
        return problem is not null ? ([], problem) : ([.. candidates.Intersect(listed, StringComparer.Ordinal)], null);
    }
}
