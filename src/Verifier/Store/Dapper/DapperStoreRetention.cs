using Dapper;
using RegistryIntegrity.Verifier.Store.Retention;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>
/// Retention on Dapper. Each batch is a write transaction of its own, so pruning a
/// backlog of millions of rows never locks the tables the consumers write for long.
/// </summary>
public sealed class DapperStoreRetention(IDbConnectionFactory connections, IEventLog eventLog) : IStoreRetention
{
    public async Task<PrunedRows> PruneAsync(RetentionCutOffs cutOffs, int batchSize, CancellationToken cancellationToken)
    {
        var history = await DeleteInBatchesAsync(
            "DELETE FROM verdict_history WHERE id IN (SELECT id FROM verdict_history WHERE checked_ms < @cutOff ORDER BY id LIMIT @batchSize)",
            cutOffs.VerdictHistory, batchSize, cancellationToken);
        var events = cutOffs.ProcessedEvents is { } eventsCutOff ? await eventLog.PruneAsync(eventsCutOff, batchSize, cancellationToken) : 0;
        var (manifests, references) = await PruneDeletedManifestsAsync(cutOffs.DeletedManifests, batchSize, cancellationToken);
        // The last completed sweep stays: the metrics, /v1/status and the scheduler read it.
        var sweeps = await DeleteInBatchesAsync("""
            DELETE FROM sweeps WHERE id IN (
                SELECT id FROM sweeps WHERE started_ms < @cutOff
                AND id NOT IN (SELECT id FROM sweeps WHERE completed_ms IS NOT NULL ORDER BY completed_ms DESC LIMIT 1)
                ORDER BY started_ms LIMIT @batchSize)
            """, cutOffs.Sweeps, batchSize, cancellationToken);
        var tagRemovals = await DeleteInBatchesAsync("""
            DELETE FROM registry_storage_tag_removals WHERE (repository, tag, removed_ms) IN (
                SELECT repository, tag, removed_ms FROM registry_storage_tag_removals WHERE removed_ms < @cutOff ORDER BY removed_ms LIMIT @batchSize)
            """, cutOffs.ProcessedEvents, batchSize, cancellationToken);
        return new PrunedRows(history, events, manifests, references, sweeps, tagRemovals);
    }

    private Task<long> DeleteInBatchesAsync(string sql, DateTimeOffset? cutOff, int batchSize, CancellationToken cancellationToken) =>
        cutOff is null ? Task.FromResult(0L) : connections.DeleteInBatchesAsync(sql, cutOff.Value, batchSize, cancellationToken);

    /// <summary>
    /// A manifest deleted before the cut-off goes with its references (the graph that still pointed from it) and its
    /// history. A manifest pushed again meanwhile is live (no <c>deleted_ms</c>) and keeps everything.
    /// </summary>
    private async Task<(long Manifests, long References)> PruneDeletedManifestsAsync(DateTimeOffset? cutOff, int batchSize, CancellationToken cancellationToken)
    {
        if (cutOff is null)
            return (0, 0);
        var cutOffMs = cutOff.Value.ToUnixTimeMilliseconds();
        // Three statements per manifest: keep a batch to what one transaction should hold.
        var keysPerBatch = Math.Min(batchSize, 1000);
        long manifests = 0, references = 0;
        while (true)
        {
            var batch = 0;
            await connections.InTransactionAsync(async (connection, transaction) =>
            {
                var keys = (await connection.QueryAsync<(string Repository, string Digest)>(new CommandDefinition(
                    "SELECT repository, digest FROM manifests WHERE deleted_ms < @cutOffMs ORDER BY deleted_ms LIMIT @keysPerBatch",
                    new { cutOffMs, keysPerBatch }, transaction, cancellationToken: cancellationToken))).ToList();
                batch = keys.Count;
                if (keys.Count == 0)
                    return;
                var rows = keys.Select(k => new { k.Repository, k.Digest, cutOffMs }).ToList();
                manifests += await connection.ExecuteAsync(
                    "DELETE FROM manifests WHERE repository = @Repository AND digest = @Digest AND deleted_ms < @cutOffMs", rows, transaction);
                const string Gone = "NOT EXISTS (SELECT 1 FROM manifests WHERE repository = @Repository AND digest = @Digest)";
                references += await connection.ExecuteAsync(
                    $"DELETE FROM manifest_references WHERE repository = @Repository AND parent_digest = @Digest AND {Gone}", rows, transaction);
                await connection.ExecuteAsync(
                    $"DELETE FROM verdict_history WHERE repository = @Repository AND digest = @Digest AND {Gone}", rows, transaction);
            }, cancellationToken);
            if (batch < keysPerBatch)
                return (manifests, references);
        }
    }
}
