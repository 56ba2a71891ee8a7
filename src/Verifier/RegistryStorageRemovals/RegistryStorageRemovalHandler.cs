using RegistryIntegrity.Contracts;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.RegistryStorageRemovals;

/// <summary>How many walks one batch of removals led to (each affected stored manifest once).</summary>
public sealed record RemovalOutcome(int Removals, int TagsRecorded, int Walks, int Broken);

/// <summary>
/// Turns removals seen on the registry's storage into what a delete event does: the digest is marked deleted where
/// it was removed, and every stored manifest above it (the reverse graph) is walked again, once per batch however
/// many of its objects went. A removed blob is gone from every repository, so its holders are found by digest.
/// A removed tag directory breaks nothing by itself: it is recorded (the GC forecast reads it) and the tag dropped.
/// </summary>
public sealed class RegistryStorageRemovalHandler(
    VerificationService verification, IVerdictStore store, RegistryStorageRemovalStore removals, TimeProvider time,
    ILogger<RegistryStorageRemovalHandler> logger)
{
    public async Task<RemovalOutcome> HandleAsync(RegistryStorageRemoved message, CancellationToken cancellationToken)
    {
        // Capped at our clock, as for registry events: a watcher clock ahead of ours must not outdate later walks.
        DateTimeOffset At(RemovedObject r) => time.NoLaterThanNow(r.RemovedAt);
        var valid = message.Removals.Where(IsValid).ToList();

        var tags = valid.Where(r => r.Kind == RemovedObjectKinds.Tag).Select(r => new TagRemoval(r.Repository!, r.Tag!, null, At(r))).ToList();
        await removals.RecordTagRemovalsAsync(tags, cancellationToken);
        foreach (var tag in tags)
            await store.DeleteTagAsync(tag.Repository, tag.Tag, tag.RemovedAt, processedEvent: null, cancellationToken);

        // Where to start walking upwards, per repository; and manifests whose own bytes went (walked themselves).
        var starts = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var manifests = new HashSet<(string Repository, string Digest)>();
        void Start(string repository, string digest)
        {
            if (!starts.TryGetValue(repository, out var digests))
                starts[repository] = digests = new HashSet<string>(StringComparer.Ordinal);
            digests.Add(digest);
        }

        // Links first: a revision removed with its blob in the same batch (GC) is then no longer a live manifest below.
        foreach (var link in valid.Where(r => r.Kind is RemovedObjectKinds.Revision or RemovedObjectKinds.LayerLink))
        {
            await store.MarkDeletedAsync(link.Repository!, link.Digest!, At(link), processedEvent: null, cancellationToken);
            Start(link.Repository!, link.Digest!);
        }
        var blobs = valid.Where(r => r.Kind == RemovedObjectKinds.Blob).GroupBy(r => r.Digest!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => At(g.First()), StringComparer.Ordinal);
        foreach (var holder in await removals.FindHoldersAsync(blobs.Keys, cancellationToken))
        {
            if (holder.IsManifest)
            {
                // Its revision link remains but the registry answers 404 for it: walking it says so (and its tags dangle).
                manifests.Add((holder.Repository, holder.Digest));
            }
            else
            {
                await store.MarkDeletedAsync(holder.Repository, holder.Digest, blobs[holder.Digest], processedEvent: null, cancellationToken);
            }
            Start(holder.Repository, holder.Digest);
        }

        var earliest = valid.Count == 0 ? (DateTimeOffset?)null : valid.Min(At);
        var walks = new List<WalkResult>();
        foreach (var (repository, digest) in manifests)
            walks.Add(await verification.VerifyAsync(repository, digest, tag: null, processedEvent: null, earliest, cancellationToken));
        foreach (var (repository, digests) in starts)
            walks.AddRange(await verification.VerifyReferrersAsync(repository, digests, earliest, cancellationToken));

        var outcome = new RemovalOutcome(valid.Count, tags.Count, walks.Count, walks.Count(w => w.Result == VerdictResult.Broken));
        logger.LogInformation("Storage removals {BatchId} from {Watcher}: {Removals} removed ({Ignored} malformed ignored), {Tags} tag(s) recorded, {Walks} manifest(s) walked, {Broken} broken",
            message.BatchId, message.Watcher, outcome.Removals, message.Removals.Count - valid.Count, outcome.TagsRecorded, outcome.Walks, outcome.Broken);
        return outcome;
    }

    /// <summary>A removal whose names do not pass the grammar (a hostile or corrupt message) is ignored, never stored.</summary>
    private static bool IsValid(RemovedObject removal) => removal.Kind switch
    {
        RemovedObjectKinds.Tag => ReferenceGrammar.IsRepository(removal.Repository) && ReferenceGrammar.IsTag(removal.Tag),
        RemovedObjectKinds.Revision or RemovedObjectKinds.LayerLink => ReferenceGrammar.IsRepository(removal.Repository) && ReferenceGrammar.IsDigest(removal.Digest),
        RemovedObjectKinds.Blob => ReferenceGrammar.IsDigest(removal.Digest),
        _ => false,
    };
}
