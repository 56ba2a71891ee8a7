using Dapper;
using RegistryIntegrity.Verifier.Store.Dapper;

namespace RegistryIntegrity.Verifier.RegistryStorageWatchers;

/// <summary><see cref="IStorageWatcherReportStore"/> on the verdict store's database (table <c>registry_storage_watchers</c>, migration 008).</summary>
public sealed class DapperStorageWatcherReportStore(IDbConnectionFactory connections, TimeProvider time) : IStorageWatcherReportStore
{
    /// <summary>A watcher not heard for this long is forgotten (shown for a day; hostile ids cannot pile up forever).</summary>
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromDays(7);

    public async Task<bool> RecordAsync(StorageWatcherReport report, CancellationToken cancellationToken)
    {
        var stored = 0;
        // A write transaction of the store's (on SQLite it queues with the walks' writes instead of contending for the lock).
        await connections.InTransactionAsync(async (connection, transaction) =>
        {
            // Redelivered or late messages arrive in any order: only a newer one replaces the row (a tie goes to the later state).
            stored = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO registry_storage_watchers (watcher, state, reason, since_ms, sent_ms, interval_ms)
                VALUES (@Watcher, @State, @Reason, @since, @sent, @interval)
                ON CONFLICT (watcher) DO UPDATE SET
                    state = excluded.state, reason = excluded.reason, since_ms = excluded.since_ms,
                    sent_ms = excluded.sent_ms, interval_ms = excluded.interval_ms
                WHERE excluded.sent_ms > registry_storage_watchers.sent_ms
                   OR (excluded.sent_ms = registry_storage_watchers.sent_ms AND excluded.since_ms >= registry_storage_watchers.since_ms)
                """, new
                {
                    report.Watcher, report.State, report.Reason, since = report.Since.ToUnixTimeMilliseconds(),
                    sent = report.LastHeardAt.ToUnixTimeMilliseconds(), interval = (long)report.HeartbeatInterval.TotalMilliseconds,
                }, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM registry_storage_watchers WHERE sent_ms < @forgotten",
                new { forgotten = (time.GetUtcNow() - ForgetAfter).ToUnixTimeMilliseconds() }, transaction, cancellationToken: cancellationToken));
        }, cancellationToken);
        return stored > 0;
    }

    public async Task<IReadOnlyList<StorageWatcherReport>> ListHeardSinceAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition("""
            SELECT watcher AS Watcher, state AS State, reason AS Reason, since_ms AS SinceMs, sent_ms AS SentMs, interval_ms AS IntervalMs
            FROM registry_storage_watchers WHERE sent_ms >= @since
            """, new { since = since.ToUnixTimeMilliseconds() }, cancellationToken: cancellationToken));
        return rows.Select(r => new StorageWatcherReport(
            r.Watcher, r.State, r.Reason, DateTimeOffset.FromUnixTimeMilliseconds(r.SinceMs), DateTimeOffset.FromUnixTimeMilliseconds(r.SentMs),
            TimeSpan.FromMilliseconds(r.IntervalMs))).OrderBy(r => r.Watcher, StringComparer.Ordinal).ToList();
    }

    private sealed record Row(string Watcher, string State, string? Reason, long SinceMs, long SentMs, long IntervalMs);
}
