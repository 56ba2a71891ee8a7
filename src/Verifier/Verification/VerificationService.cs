using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>Walks a manifest, stores the verdict, and re-checks the manifests that referenced a deleted digest.</summary>
public sealed class VerificationService(
    ManifestWalker walker, IVerdictStore store, IEventLog eventLog, VerifierMetrics metrics, TimeProvider time, ILogger<VerificationService> logger)
{
    /// <summary>How often a walk overtaken by events, or straddling a registry outage, is walked before it is given up or saved as it is.</summary>
    private const int MaxWalksPerVerdict = 3;

    /// <summary>
    /// Walks and stores the verdict, as of the oldest registry answer it rests on. A walk overtaken by an event
    /// about one of its objects (a shared sweep answer from before a delete or a push), or whose answers straddle
    /// a registry outage, is walked again with fresh answers.
    /// </summary>
    public static Task<WalkResult> WalkAndSaveAsync(
        ManifestWalker walker, IProbeSource probes, IVerdictStore store, TimeProvider time, ILogger logger,
        string digest, string? tag, CancellationToken cancellationToken) =>
        WalkAndSaveAsync(walker, probes, store, time, logger, digest, tag, processedEvent: null, eventLog: null, cancellationToken);

    /// <param name="processedEvent">Stored with the verdict; recorded in <paramref name="eventLog"/> alone when the walk is given up.</param>
    private static async Task<WalkResult> WalkAndSaveAsync(
        ManifestWalker walker, IProbeSource probes, IVerdictStore store, TimeProvider time, ILogger logger,
        string digest, string? tag, ProcessedEvent? processedEvent, IEventLog? eventLog, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var startedAt = time.GetUtcNow();
            var walk = await walker.WalkAsync(probes, digest, cancellationToken);
            var observedAt = walk.ObservedAt ?? startedAt;
            if (walk.Result != VerdictResult.Indeterminate && probes.UnavailableSince(observedAt) && attempt < MaxWalksPerVerdict)
            {
                // Some answers may be from before an outage (a registry stopped for its garbage collection), the
                // rest from after it: together they would name the wrong objects missing, or none.
                logger.LogInformation("{Repository}@{Digest}: the registry was unavailable during the walk; walked again", probes.Repository, digest);
                probes = probes.Renew();
                continue;
            }
            if (await store.SaveWalkAsync(walk, observedAt, tag, processedEvent, cancellationToken))
                return walk;
            if (attempt == MaxWalksPerVerdict)
            {
                // The event is still recorded as processed: the events that kept overtaking the walk bring their own walks.
                if (processedEvent is not null)
                    await eventLog!.RecordAsync(processedEvent, cancellationToken);
                logger.LogWarning("{Repository}@{Digest} changed during each of {Count} walks; left to the next event or sweep", probes.Repository, digest, attempt);
                return walk;
            }
            probes = probes.Renew();
        }
    }

    /// <summary>Referrers are followed upwards (child -> index -> nested index) at most this many levels.</summary>
    private const int MaxReferrerLevels = ManifestWalker.MaxDepth + 1;

    /// <param name="processedEvent">The event that asked for this walk; stored with the verdict in one transaction.</param>
    public Task<WalkResult> VerifyAsync(
        string repository, string digest, string? tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken) =>
        VerifyAsync(repository, digest, tag, processedEvent, processedEvent?.OccurredAt, cancellationToken);

    /// <summary>
    /// Re-verifies every live manifest that references <paramref name="digest"/>, directly or through nested indexes.
    /// <paramref name="eventOccurredAt"/> is when the registry says the delete happened, for the latency metric.
    /// </summary>
    public Task<IReadOnlyList<WalkResult>> VerifyReferrersAsync(
        string repository, string digest, DateTimeOffset? eventOccurredAt, CancellationToken cancellationToken) =>
        VerifyReferrersAsync(repository, [digest], store.FindReferrersAsync, eventOccurredAt, cancellationToken);

    /// <summary>Like one digest's, for several at once: a manifest above several of them is walked once.</summary>
    public Task<IReadOnlyList<WalkResult>> VerifyReferrersAsync(
        string repository, IReadOnlyCollection<string> digests, DateTimeOffset? eventOccurredAt, CancellationToken cancellationToken) =>
        VerifyReferrersAsync(repository, digests, store.FindReferrersAsync, eventOccurredAt, cancellationToken);

    /// <summary>
    /// A pushed or mounted digest may be one that broken parents miss (a re-pushed child): re-verifies the
    /// manifests above it that are not healthy, so a repaired index heals now rather than at the next sweep.
    /// </summary>
    public Task<IReadOnlyList<WalkResult>> VerifyUnhealthyReferrersAsync(string repository, string digest, CancellationToken cancellationToken) =>
        VerifyReferrersAsync(repository, [digest], store.FindUnhealthyReferrersAsync, eventOccurredAt: null, cancellationToken);

    private async Task<IReadOnlyList<WalkResult>> VerifyReferrersAsync(
        string repository, IReadOnlyCollection<string> digests, Func<string, string, CancellationToken, Task<IReadOnlyList<string>>> findReferrers,
        DateTimeOffset? eventOccurredAt, CancellationToken cancellationToken)
    {
        var results = new List<WalkResult>();
        var seen = new HashSet<string>(digests, StringComparer.Ordinal);
        var level = seen.ToList();
        for (var depth = 0; depth < MaxReferrerLevels && level.Count > 0; depth++)
        {
            var parents = new List<string>();
            foreach (var child in level)
                parents.AddRange((await findReferrers(repository, child, cancellationToken)).Where(seen.Add));
            foreach (var parent in parents)
                results.Add(await VerifyAsync(repository, parent, tag: null, processedEvent: null, eventOccurredAt, cancellationToken));
            level = parents;
        }
        return results;
    }

    public async Task<WalkResult> VerifyAsync(
        string repository, string digest, string? tag, ProcessedEvent? processedEvent, DateTimeOffset? eventOccurredAt,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var walk = await WalkAndSaveAsync(walker, walker.CreateCache(repository), store, time, logger, digest, tag, processedEvent, eventLog, cancellationToken);
        metrics.ObserveWalk(time.GetElapsedTime(started));
        metrics.CountVerification(walk.Result);
        if (eventOccurredAt is { } occurredAt)
            metrics.ObserveEventToVerdict(time.GetUtcNow() - occurredAt);
        if (walk.Result == VerdictResult.Broken)
        {
            // The line an operator greps for: what is missing, and on which path from the manifest.
            logger.LogWarning("{Repository}@{Digest} is broken: {Count} missing: {Missing}",
                repository, digest, walk.Missing.Count,
                string.Join("; ", walk.Missing.Select(m => $"{m.Kind} {m.Digest} ({m.StatusCode} {m.ErrorCode}) via {string.Join(" -> ", m.Path)}")));
        }
        else if (walk.Result == VerdictResult.Indeterminate)
            logger.LogWarning("{Repository}@{Digest} is indeterminate: {Reasons}", repository, digest, string.Join("; ", walk.IndeterminateReasons));
        return walk;
    }
}
