using System.Data.Common;
using Dapper;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>The processed-event log on Dapper (table <c>processed_events</c>).</summary>
public sealed class DapperEventLog(IDbConnectionFactory connections, TimeProvider time) : IEventLog
{
    public async Task<bool> IsProcessedAsync(string eventId, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM processed_events WHERE event_id = @eventId", new { eventId }) > 0;
    }

    public Task RecordAsync(ProcessedEvent processedEvent, CancellationToken cancellationToken) =>
        connections.InTransactionAsync((connection, transaction) =>
            InsertAsync(connection, transaction, processedEvent, time.GetUtcNow().ToUnixTimeMilliseconds()), cancellationToken);

    public async Task<IReadOnlyList<ProcessedEvent>> ListForReplayAsync(DateTimeOffset from, DateTimeOffset to, string? repository, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string EventId, string MessageType, string Repository, long OccurredMs, string? SourceInstanceId, string Payload)>("""
            SELECT event_id, message_type, repository, occurred_ms, source_instance_id, payload FROM processed_events
            WHERE occurred_ms >= @from AND occurred_ms < @to AND (@repository IS NULL OR repository = @repository)
            ORDER BY occurred_ms, event_id
            """, new { from = from.ToUnixTimeMilliseconds(), to = to.ToUnixTimeMilliseconds(), repository });
        return rows.Select(r => new ProcessedEvent(r.EventId, r.MessageType, r.Repository, DateTimeOffset.FromUnixTimeMilliseconds(r.OccurredMs), r.SourceInstanceId, r.Payload)).ToList();
    }

    public Task<long> PruneAsync(DateTimeOffset cutOff, int batchSize, CancellationToken cancellationToken) =>
        connections.DeleteInBatchesAsync(
            "DELETE FROM processed_events WHERE event_id IN (SELECT event_id FROM processed_events WHERE occurred_ms < @cutOff ORDER BY occurred_ms LIMIT @batchSize)",
            cutOff, batchSize, cancellationToken);

    /// <summary>
    /// Records an event inside the caller's transaction: <see cref="DapperVerdictStore"/> writes a verdict and the
    /// event that caused it atomically, so a crash between the two can neither drop the event as a duplicate
    /// without its verdict nor store the verdict twice.
    /// </summary>
    /// <returns>1 when the event was recorded now, 0 when it already was.</returns>
    internal static Task<int> InsertAsync(DbConnection connection, DbTransaction transaction, ProcessedEvent e, long now) =>
        connection.ExecuteAsync("""
            INSERT INTO processed_events (event_id, message_type, repository, occurred_ms, processed_ms, source_instance_id, payload)
            VALUES (@EventId, @MessageType, @Repository, @occurred, @now, @SourceInstanceId, @Payload)
            ON CONFLICT (event_id) DO NOTHING
            """, new { e.EventId, e.MessageType, e.Repository, occurred = e.OccurredAt.ToUnixTimeMilliseconds(), now, e.SourceInstanceId, e.Payload }, transaction);
}
