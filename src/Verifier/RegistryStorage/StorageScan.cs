using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.RegistryStorage;

/// <summary>What the storage scan found that needs attention.</summary>
public enum FindingKind
{
    /// <summary>A manifest (any revision, tagged or not) that cannot be pulled whole: an object it references is gone.</summary>
    BrokenManifest,

    /// <summary>A revision link whose manifest data is gone: the registry lists nothing for it and answers 404.</summary>
    RevisionWithoutData,

    /// <summary>A layer link whose blob data is gone: a later push skips the upload and produces a broken image.</summary>
    LayerLinkWithoutData,

    /// <summary>A listed tag that points to a missing manifest: <c>docker pull</c> of it fails.</summary>
    DanglingTag,

    /// <summary>Something could not be read (permission, I/O error, a link that holds no digest): not proven either way.</summary>
    Indeterminate,
}

public sealed record Finding(FindingKind Kind, string Repository, string? Digest, string? Tag, string Detail, IReadOnlyList<MissingObject> Missing)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsBroken => Kind != FindingKind.Indeterminate;
}

public sealed record ScanProgress(int Repositories, int Manifests, int LayerLinks, int Findings, TimeSpan Elapsed);

public sealed record ScanResult(int Repositories, int Tags, int Manifests, int LayerLinks, int LayerLinksRemoved, TimeSpan Elapsed, IReadOnlyList<Finding> Findings);

/// <summary>
/// The storage scan (<c>fsck</c>): every repository of the registry's storage, streamed. Each repository is swept
/// with the HTTP sweep's own rules (<see cref="RepositorySweeper"/>: same verdicts into the same store, tags
/// reconciled the same way) through a <see cref="StorageSweepSource"/>; then every revision is walked with the
/// same answers (so untagged manifests are judged too, without storing verdicts the HTTP sweep would not) and
/// every layer link is checked for its blob's data, which the HTTP API cannot show. Repositories the store knows
/// but the storage no longer has are swept too, as the HTTP sweep does. Reads only, unless
/// <paramref name="fixLayerLinks"/> and <paramref name="apply"/>: then dangling layer links (and only those) are removed.
/// </summary>
public sealed class StorageScan(
    IRegistryStorage storage, IServiceProvider services, ManifestWalker walker, IVerdictStore verdicts, ISweepStore sweeps,
    IOptions<RegistryStorageOptions> options, IOptions<SweepOptions> sweepOptions, TimeProvider time, ILogger<StorageScan> logger)
{
    public async Task<ScanResult> RunAsync(bool fixLayerLinks, bool apply, Action<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var source = new StorageSweepSource(storage, options.Value.MaxManifestBytes, time);
        var findings = new ConcurrentQueue<Finding>();
        int repositories = 0, tags = 0, manifests = 0, layerLinks = 0, removed = 0;
        void Report() => progress?.Invoke(new ScanProgress(repositories, manifests, layerLinks, findings.Count, time.GetElapsedTime(started)));

        var seen = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        async ValueTask ScanRepositoryAsync(string repository, CancellationToken ct)
        {
            seen.TryAdd(repository, 0);
            var probes = source.CreateProbes(repository);
            var sweeper = ActivatorUtilities.CreateInstance<RepositorySweeper>(services, new SharedProbes(source, probes));
            var swept = await sweeper.SweepAsync(repository, ct);
            Interlocked.Add(ref tags, swept.TagsSeen);
            if (swept.Problem is not null)
                findings.Enqueue(new Finding(FindingKind.Indeterminate, repository, null, null, swept.Problem, []));
            var (walked, revisionProblem) = await WalkRevisionsAsync(repository, probes, findings, ct);
            Interlocked.Add(ref manifests, walked);
            if (revisionProblem is not null)
                findings.Enqueue(new Finding(FindingKind.Indeterminate, repository, null, null, revisionProblem, []));
            var (links, linksRemoved) = await CheckLayerLinksAsync(repository, probes as StorageProbeSource, fixLayerLinks, apply, findings, ct);
            Interlocked.Add(ref layerLinks, links);
            Interlocked.Add(ref removed, linksRemoved);
            Interlocked.Increment(ref repositories);
            Report();
        }

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Value.ConcurrentRepositories, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(storage.ListRepositoriesAsync(withLayersOnly: true, cancellationToken), parallel, ScanRepositoryAsync);
        // Repositories the store knows but the storage no longer has: their tags vanished, their manifests were deleted.
        var vanished = (await sweeps.ListRepositoriesAsync(cancellationToken)).Where(r => !seen.ContainsKey(r)).ToList();
        await Parallel.ForEachAsync(vanished, parallel, async (repository, ct) =>
        {
            var sweeper = ActivatorUtilities.CreateInstance<RepositorySweeper>(services, source);
            await sweeper.SweepAsync(repository, ct);
        });

        foreach (var dangling in await verdicts.ListDanglingTagsAsync(cancellationToken))
        {
            if (!seen.ContainsKey(dangling.Repository))
                continue;
            // The store keeps the digest the tag last resolved to; a tag never seen whole still names one in its current link.
            var digest = dangling.Digest ?? (await storage.ReadLinkAsync(Contracts.RegistryStorage.RegistryStorageLayout.TagCurrentLinkPath(dangling.Repository, dangling.Tag), cancellationToken)).Value;
            findings.Enqueue(new Finding(FindingKind.DanglingTag, dangling.Repository, digest, dangling.Tag, "the tag is listed but its manifest is missing", dangling.Missing));
        }
        Report();
        var ordered = findings.OrderBy(f => f.Repository, StringComparer.Ordinal).ThenBy(f => f.Kind).ThenBy(f => f.Digest, StringComparer.Ordinal).ThenBy(f => f.Tag, StringComparer.Ordinal).ToList();
        return new ScanResult(repositories, tags, manifests, layerLinks, removed, time.GetElapsedTime(started), ordered);
    }

    private async Task<(int Walked, string? Problem)> WalkRevisionsAsync(string repository, IProbeSource probes, ConcurrentQueue<Finding> findings, CancellationToken cancellationToken)
    {
        var walked = 0;
        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = sweepOptions.Value.ConcurrentWalks, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(storage.ListRevisionsAsync(repository, cancellationToken), parallel, async (digest, ct) =>
            {
                var walk = await walker.WalkAsync(probes, digest, ct);
                Interlocked.Increment(ref walked);
                if (walk.Missing.FirstOrDefault(m => m.Path.Count == 0) is { } root)
                    findings.Enqueue(new Finding(FindingKind.RevisionWithoutData, repository, digest, null, "the revision link is there but the manifest's data is gone", [root]));
                else if (walk.Result == VerdictResult.Broken)
                    findings.Enqueue(new Finding(FindingKind.BrokenManifest, repository, digest, null, $"{walk.Missing.Count} object(s) missing", walk.Missing));
                else if (walk.Result == VerdictResult.Indeterminate)
                    findings.Enqueue(new Finding(FindingKind.Indeterminate, repository, digest, null, string.Join("; ", walk.IndeterminateReasons), []));
            });
        }
        catch (RegistryStorageException e)
        {
            return (walked, $"revisions could not be listed: {e.Message}");
        }
        return (walked, null);
    }

    private async Task<(int Checked, int Removed)> CheckLayerLinksAsync(
        string repository, StorageProbeSource? walked, bool fix, bool apply, ConcurrentQueue<Finding> findings, CancellationToken cancellationToken)
    {
        int count = 0, removed = 0;
        try
        {
            await foreach (var digest in storage.ListLayerLinksAsync(repository, cancellationToken))
            {
                count++;
                // Most links are configs and layers the walks just read (link and data): only the others are read here.
                if (walked?.SawLayerLinkAndData(digest) == true)
                    continue;
                var link = await storage.ReadLinkAsync(Contracts.RegistryStorage.RegistryStorageLayout.LayerLinkPath(repository, digest), cancellationToken);
                if (link.Outcome == StorageOutcome.Missing)
                    continue; // a directory without a link names nothing: the registry answers 404 for it, as for no directory
                if (link.Outcome == StorageOutcome.Unreadable)
                {
                    findings.Enqueue(new Finding(FindingKind.Indeterminate, repository, digest, null, link.Reason!, []));
                    continue;
                }
                var data = await storage.StatBlobAsync(link.Value!, readFirstByte: false, cancellationToken);
                if (data.Outcome == StorageOutcome.Unreadable)
                {
                    findings.Enqueue(new Finding(FindingKind.Indeterminate, repository, digest, null, data.Reason!, []));
                    continue;
                }
                if (data.Outcome == StorageOutcome.Present)
                    continue;
                var missing = new MissingObject("layer-link", digest, [], null, StorageProbeSource.BlobUnknown);
                findings.Enqueue(new Finding(FindingKind.LayerLinkWithoutData, repository, digest, null, "the layer link is there but the blob's data is gone", [missing]));
                if (!fix)
                    continue;
                if (!apply)
                {
                    logger.LogWarning("Would remove the dangling layer link {Repository}@{Digest} (dry run: add --apply)", repository, digest);
                    continue;
                }
                var removal = await storage.RemoveLayerLinkAsync(repository, digest, cancellationToken);
                if (removal.Outcome == StorageOutcome.Present)
                {
                    removed++;
                    logger.LogWarning("Removed the dangling layer link {Repository}@{Digest}", repository, digest);
                }
                else
                    logger.LogError("Could not remove the dangling layer link {Repository}@{Digest}: {Reason}", repository, digest, removal.Reason);
            }
        }
        catch (RegistryStorageException e)
        {
            findings.Enqueue(new Finding(FindingKind.Indeterminate, repository, null, null, $"layer links could not be listed: {e.Message}", []));
        }
        return (count, removed);
    }

    /// <summary>The storage sweep source whose walks use the scan's answers for the repository, so nothing is read twice.</summary>
    private sealed class SharedProbes(ISweepSource inner, IProbeSource probes) : ISweepSource
    {
        public Task<(IReadOnlyList<string> Repositories, string? Error)> ListRepositoriesAsync(CancellationToken cancellationToken) =>
            inner.ListRepositoriesAsync(cancellationToken);

        public Task<(List<string> Tags, string? Problem, bool NoTagsDirectory)> ListTagsAsync(string repository, CancellationToken cancellationToken) =>
            inner.ListTagsAsync(repository, cancellationToken);

        public Task<(string? Digest, ProbeResult Probe)> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken) =>
            inner.ResolveTagAsync(repository, tag, cancellationToken);

        public IProbeSource CreateProbes(string repository) => repository == probes.Repository ? probes : inner.CreateProbes(repository);
    }
}
