namespace RegistryIntegrity.Verifier.Store.Retention;

/// <summary>Rows older than each cut-off (null: keep that kind).</summary>
public sealed record RetentionCutOffs(
    DateTimeOffset? VerdictHistory, DateTimeOffset? ProcessedEvents, DateTimeOffset? DeletedManifests, DateTimeOffset? Sweeps);

/// <summary>Rows pruned, per table.</summary>
/// <param name="StorageTagRemovals">Tag directories the storage watcher saw removed, kept as long as processed events.</param>
public sealed record PrunedRows(long VerdictHistory, long ProcessedEvents, long DeletedManifests, long References, long Sweeps, long StorageTagRemovals)
{
    public long Total => VerdictHistory + ProcessedEvents + DeletedManifests + References + Sweeps + StorageTagRemovals;
}

/// <summary>Keeps the verdict store bounded: deletes, in small batches, what its retention periods no longer keep.</summary>
public interface IStoreRetention
{
    Task<PrunedRows> PruneAsync(RetentionCutOffs cutOffs, int batchSize, CancellationToken cancellationToken);
}
