using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>What to repair: one manifest (<see cref="Digest"/>), one tag, every broken manifest of a repository, or all.</summary>
public sealed record RepairRequest(string? Repository = null, string? Digest = null, string? Tag = null, bool All = false, bool Apply = false)
{
    /// <summary>Why the request cannot be run, one line each; empty when it can.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (All && (Repository ?? Digest ?? Tag) is not null)
            problems.Add("give either 'all' or a repository (with an optional digest or tag), not both");
        else if (!All && Repository is null)
            problems.Add("name what to repair: a repository (with an optional digest or tag), or all broken manifests");
        if (Repository is not null && !ReferenceGrammar.IsRepository(Repository))
            problems.Add($"'{Printable(Repository)}' is not a repository name");
        if (Digest is not null && !ReferenceGrammar.IsDigest(Digest))
            problems.Add($"'{Printable(Digest)}' is not a digest (sha256:<64 hex>)");
        if (Tag is not null && !ReferenceGrammar.IsTag(Tag))
            problems.Add($"'{Printable(Tag)}' is not a tag");
        if (Digest is not null && Tag is not null)
            problems.Add("give a digest or a tag, not both");
        return problems;
    }

    private static string Printable(string value) => new([.. value.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);
}

/// <summary>Finds the broken manifests a request names (the verdict store knows them) and repairs each in turn.</summary>
public sealed class RepairService(RepairExecutor executor, IVerdictStore store, RegistryClient registry, IOptions<RepairOptions> options)
{
    public async Task<RepairRun> RunAsync(RepairRequest request, Action<string>? progress, CancellationToken cancellationToken)
    {
        var (targets, problems) = await TargetsAsync(request, cancellationToken);
        var limit = options.Value.MaxManifests;
        if (targets.Count > limit)
        {
            problems.Add($"{targets.Count - limit} more broken manifest(s) are left for the next run (Repair:MaxManifests is {limit})");
            targets = targets.Take(limit).ToList();
        }
        var reports = new List<RepairReport>();
        foreach (var target in targets)
        {
            progress?.Invoke($"[{reports.Count + 1}/{targets.Count}] {target.Repository}@{target.Digest}{(target.Tag is null ? "" : $" (tag {target.Tag})")}");
            reports.Add(await executor.RepairAsync(target, request.Apply, progress, cancellationToken));
        }
        return new RepairRun(request.Apply, reports, problems);
    }

    private async Task<(List<RepairTarget>, List<string>)> TargetsAsync(RepairRequest request, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (request.Repository is { } repository && request.Digest is { } digest)
            return ([new RepairTarget(repository, digest)], problems);
        if (request.Repository is { } tagged && request.Tag is { } tag)
        {
            var (resolved, probe) = await registry.ResolveTagAsync(tagged, tag, cancellationToken);
            if (resolved is not null)
                return ([new RepairTarget(tagged, resolved, tag)], problems);
            // A dangling tag answers 404: the store remembers the digest it last resolved to.
            var dangling = (await store.ListDanglingTagsAsync(cancellationToken)).FirstOrDefault(d => d.Repository == tagged && d.Tag == tag);
            if (dangling?.Digest is { } last)
                return ([new RepairTarget(tagged, last, tag)], problems);
            problems.Add(probe.Outcome == ProbeOutcome.Missing
                ? $"{tagged}:{tag} does not resolve and the store knows no digest for it"
                : $"{tagged}:{tag} could not be resolved: {probe.Reason}");
            return ([], problems);
        }

        var broken = (await store.ListBrokenAsync(cancellationToken))
            .Where(m => request.All || m.Repository == request.Repository)
            .Select(m => new RepairTarget(m.Repository, m.Digest, m.Tags.FirstOrDefault()));
        var danglingTags = (await store.ListDanglingTagsAsync(cancellationToken))
            .Where(d => d.Digest is not null && (request.All || d.Repository == request.Repository))
            .Select(d => new RepairTarget(d.Repository, d.Digest!, d.Tag));
        return ([.. broken.Concat(danglingTags).DistinctBy(t => (t.Repository, t.Digest))], problems);
    }
}
