using RegistryIntegrity.Verifier.Storage;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>Walks a manifest, stores the verdict, and re-checks the manifests that referenced a deleted digest.</summary>
public sealed class VerificationService(
    ManifestWalker walker, IVerdictStore store, VerifierMetrics metrics, TimeProvider time, ILogger<VerificationService> logger)
{
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
    public async Task<IReadOnlyList<WalkResult>> VerifyReferrersAsync(
        string repository, string digest, DateTimeOffset? eventOccurredAt, CancellationToken cancellationToken)
    {
        var results = new List<WalkResult>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { digest };
        var level = new List<string> { digest };
        for (var depth = 0; depth < MaxReferrerLevels && level.Count > 0; depth++)
        {
            var parents = new List<string>();
            foreach (var child in level)
                parents.AddRange((await store.FindReferrersAsync(repository, child, cancellationToken)).Where(seen.Add));
            foreach (var parent in parents)
                results.Add(await VerifyAsync(repository, parent, tag: null, processedEvent: null, eventOccurredAt, cancellationToken));
            level = parents;
        }
        return results;
    }

    private async Task<WalkResult> VerifyAsync(
        string repository, string digest, string? tag, ProcessedEvent? processedEvent, DateTimeOffset? eventOccurredAt,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        // A verdict is as of when the walk started: a slow walk must not overwrite what a later one saw.
        var observedAt = time.GetUtcNow();
        var walk = await walker.WalkAsync(repository, digest, cancellationToken);
        metrics.ObserveWalk(time.GetElapsedTime(started));
        await store.SaveWalkAsync(walk, observedAt, tag, processedEvent, cancellationToken);
        metrics.CountVerification(walk.Result);
        if (eventOccurredAt is { } occurredAt)
            metrics.ObserveEventToVerdict(time.GetUtcNow() - occurredAt);
        if (walk.Result != VerdictResult.Healthy)
        {
            logger.LogWarning("{Repository}@{Digest} is {Result}: {Missing} missing, {Reasons}",
                repository, digest, walk.Result, walk.Missing.Count, string.Join("; ", walk.IndeterminateReasons));
        }
        return walk;
    }
}
