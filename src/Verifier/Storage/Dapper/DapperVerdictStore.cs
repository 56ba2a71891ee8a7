using System.Data.Common;
using System.Text.Json;
using Dapper;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Storage.Dapper;

/// <summary>
/// The store on Dapper. The SQL is the common subset of SQLite and PostgreSQL (upserts with
/// <c>ON CONFLICT</c>, times as Unix milliseconds), so one implementation serves both providers.
/// </summary>
public sealed class DapperVerdictStore(IDbConnectionFactory connections, TimeProvider time) : IVerdictStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task MigrateAsync(CancellationToken cancellationToken) => SchemaMigrator.MigrateAsync(connections, time, cancellationToken);

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
    }

    public async Task<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM processed_events WHERE event_id = @eventId", new { eventId }) > 0;
    }

    public Task SaveWalkAsync(WalkResult walk, DateTimeOffset checkedAt, string? tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            var now = checkedAt.ToUnixTimeMilliseconds();
            // Copies of one event (the registry resends when answered late) can be walked at once by
            // competing consumers; the first to commit stores the verdict, the others store nothing.
            if (processedEvent is not null && await InsertEventAsync(connection, transaction, processedEvent, now) == 0 && !processedEvent.Replay)
                return;
            if (walk.RootMissing)
            {
                await MarkDeletedAsync(connection, transaction, walk.Repository, walk.Digest, now);
            }
            else
            {
                foreach (var (digest, mediaType) in walk.Manifests.Where(m => m.Key != walk.Digest))
                    await UpsertManifestAsync(connection, transaction, walk.Repository, digest, mediaType, now);
                await connection.ExecuteAsync("""
                    INSERT INTO manifests (repository, digest, media_type, first_seen_ms, result, checked_ms, since_ms, missing_json, missing_count, reasons_json)
                    VALUES (@Repository, @Digest, @MediaType, @now, @result, @now, @now, @missing, @missingCount, @reasons)
                    ON CONFLICT (repository, digest) DO UPDATE SET
                        media_type = COALESCE(excluded.media_type, manifests.media_type),
                        deleted_ms = NULL,
                        since_ms = CASE WHEN manifests.result = excluded.result THEN manifests.since_ms ELSE excluded.since_ms END,
                        result = excluded.result,
                        checked_ms = excluded.checked_ms,
                        missing_json = excluded.missing_json,
                        missing_count = excluded.missing_count,
                        reasons_json = excluded.reasons_json
                    WHERE manifests.checked_ms IS NULL OR manifests.checked_ms <= excluded.checked_ms
                    """,
                    new
                    {
                        walk.Repository, walk.Digest, walk.MediaType, now, result = ResultName(walk.Result), missing = Serialize(walk.Missing),
                        missingCount = walk.Missing.Count, reasons = Serialize(walk.IndeterminateReasons),
                    },
                    transaction);
                await connection.ExecuteAsync(
                    "UPDATE manifests SET subject_digest = @subject WHERE repository = @repository AND digest = @digest",
                    walk.Subjects.Select(s => new { repository = walk.Repository, digest = s.Key, subject = s.Value }),
                    transaction);
                await connection.ExecuteAsync("""
                    INSERT INTO manifest_references (repository, parent_digest, child_digest, kind)
                    VALUES (@repository, @Parent, @Child, @kind)
                    ON CONFLICT (repository, parent_digest, child_digest) DO NOTHING
                    """,
                    walk.Edges.Select(e => new { repository = walk.Repository, e.Parent, e.Child, kind = e.Kind.ToString() }),
                    transaction);
                if (tag is not null)
                    await UpsertTagAsync(connection, transaction, walk.Repository, tag, walk.Digest, now);
            }
            await connection.ExecuteAsync("""
                INSERT INTO verdict_history (repository, digest, result, checked_ms, missing_json, reasons_json, event_id)
                VALUES (@Repository, @Digest, @result, @now, @missing, @reasons, @eventId)
                """,
                new { walk.Repository, walk.Digest, result = walk.RootMissing ? "missing" : ResultName(walk.Result), now, missing = Serialize(walk.Missing), reasons = Serialize(walk.IndeterminateReasons), eventId = processedEvent?.EventId },
                transaction);
        }, cancellationToken);

    public Task MarkDeletedAsync(string repository, string digest, DateTimeOffset deletedAt, ProcessedEvent? processedEvent, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            await MarkDeletedAsync(connection, transaction, repository, digest, deletedAt.ToUnixTimeMilliseconds());
            if (processedEvent is not null)
                await InsertEventAsync(connection, transaction, processedEvent, deletedAt.ToUnixTimeMilliseconds());
        }, cancellationToken);

    public Task DeleteTagAsync(string repository, string tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("DELETE FROM tags WHERE repository = @repository AND tag = @tag", new { repository, tag }, transaction);
            if (processedEvent is not null)
                await InsertEventAsync(connection, transaction, processedEvent, time.GetUtcNow().ToUnixTimeMilliseconds());
        }, cancellationToken);

    public Task RecordEventAsync(ProcessedEvent processedEvent, CancellationToken cancellationToken) =>
        InTransactionAsync((connection, transaction) =>
            InsertEventAsync(connection, transaction, processedEvent, time.GetUtcNow().ToUnixTimeMilliseconds()), cancellationToken);

    public async Task<IReadOnlyList<string>> FindReferrersAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var parents = await connection.QueryAsync<string>("""
            SELECT r.parent_digest FROM manifest_references r
            JOIN manifests m ON m.repository = r.repository AND m.digest = r.parent_digest
            WHERE r.repository = @repository AND r.child_digest = @digest AND m.deleted_ms IS NULL
            """, new { repository, digest });
        return parents.Distinct().ToList();
    }

    public async Task<VerdictCounts> CountVerdictsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = (await connection.QueryAsync<(string Result, long Count, long Missing)>(new CommandDefinition("""
            SELECT result, COUNT(*), COALESCE(SUM(missing_count), 0) FROM manifests
            WHERE deleted_ms IS NULL AND result IS NOT NULL GROUP BY result
            """, cancellationToken: cancellationToken))).ToDictionary(r => r.Result);
        return new VerdictCounts(
            rows.GetValueOrDefault("broken").Count, rows.GetValueOrDefault("indeterminate").Count, rows.GetValueOrDefault("healthy").Count,
            rows.GetValueOrDefault("broken").Missing);
    }

    public async Task<IReadOnlyList<ManifestVerdict>> ListBrokenAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<ManifestRow>(
            $"{SelectManifest} WHERE deleted_ms IS NULL AND result = 'broken' ORDER BY repository, digest");
        var tags = (await connection.QueryAsync<(string Repository, string Digest, string Tag)>("""
            SELECT t.repository, t.digest, t.tag FROM tags t
            JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest
            WHERE m.deleted_ms IS NULL AND m.result = 'broken'
            """)).ToLookup(t => (t.Repository, t.Digest), t => t.Tag);
        return rows.Select(r => r.ToVerdict(tags[(r.Repository, r.Digest)].Order(StringComparer.Ordinal).ToList())).ToList();
    }

    public async Task<ManifestVerdict?> GetManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ManifestRow>(
            $"{SelectManifest} WHERE repository = @repository AND digest = @digest", new { repository, digest });
        if (row is null)
            return null;
        var tags = await connection.QueryAsync<string>(
            "SELECT tag FROM tags WHERE repository = @repository AND digest = @digest ORDER BY tag", new { repository, digest });
        return row.ToVerdict(tags.ToList());
    }

    public async Task<IReadOnlyList<VerdictHistoryEntry>> GetHistoryAsync(string repository, string digest, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Result, long CheckedMs, string? MissingJson, string? ReasonsJson, string? EventId)>("""
            SELECT result, checked_ms, missing_json, reasons_json, event_id FROM verdict_history
            WHERE repository = @repository AND digest = @digest ORDER BY id DESC LIMIT @limit
            """, new { repository, digest, limit });
        return rows.Select(r => new VerdictHistoryEntry(
            r.Result, DateTimeOffset.FromUnixTimeMilliseconds(r.CheckedMs), Deserialize<MissingObject>(r.MissingJson),
            Deserialize<string>(r.ReasonsJson), r.EventId)).ToList();
    }

    private const string SelectManifest = """
        SELECT repository AS Repository, digest AS Digest, media_type AS MediaType, result AS Result, checked_ms AS CheckedMs,
               since_ms AS SinceMs, deleted_ms AS DeletedMs, missing_json AS MissingJson, reasons_json AS ReasonsJson,
               subject_digest AS SubjectDigest
        FROM manifests
        """;

    private sealed record ManifestRow(
        string Repository, string Digest, string? MediaType, string? Result, long? CheckedMs, long? SinceMs, long? DeletedMs,
        string? MissingJson, string? ReasonsJson, string? SubjectDigest)
    {
        public ManifestVerdict ToVerdict(IReadOnlyList<string> tags) => new(
            Repository, Digest, MediaType, Result, Time(CheckedMs), Time(SinceMs), Time(DeletedMs),
            Deserialize<MissingObject>(MissingJson), Deserialize<string>(ReasonsJson), tags, SubjectDigest);
    }

    private static DateTimeOffset? Time(long? unixMs) => unixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    private static Task UpsertManifestAsync(DbConnection connection, DbTransaction transaction, string repository, string digest, string? mediaType, long now) =>
        connection.ExecuteAsync("""
            INSERT INTO manifests (repository, digest, media_type, first_seen_ms) VALUES (@repository, @digest, @mediaType, @now)
            ON CONFLICT (repository, digest) DO UPDATE SET media_type = COALESCE(excluded.media_type, manifests.media_type), deleted_ms = NULL
            """, new { repository, digest, mediaType, now }, transaction);

    private static Task UpsertTagAsync(DbConnection connection, DbTransaction transaction, string repository, string tag, string digest, long now) =>
        connection.ExecuteAsync("""
            INSERT INTO tags (repository, tag, digest, updated_ms) VALUES (@repository, @tag, @digest, @now)
            ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_ms = excluded.updated_ms
            """, new { repository, tag, digest, now }, transaction);

    private static Task MarkDeletedAsync(DbConnection connection, DbTransaction transaction, string repository, string digest, long now) =>
        connection.ExecuteAsync(
            "UPDATE manifests SET deleted_ms = @now WHERE repository = @repository AND digest = @digest AND deleted_ms IS NULL",
            new { repository, digest, now }, transaction);

    /// <returns>1 when the event was recorded now, 0 when it already was.</returns>
    private static Task<int> InsertEventAsync(DbConnection connection, DbTransaction transaction, ProcessedEvent e, long now) =>
        connection.ExecuteAsync("""
            INSERT INTO processed_events (event_id, message_type, repository, occurred_ms, processed_ms, source_instance_id, payload)
            VALUES (@EventId, @MessageType, @Repository, @occurred, @now, @SourceInstanceId, @Payload)
            ON CONFLICT (event_id) DO NOTHING
            """, new { e.EventId, e.MessageType, e.Repository, occurred = e.OccurredAt.ToUnixTimeMilliseconds(), now, e.SourceInstanceId, e.Payload }, transaction);

    private Task InTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) =>
        connections.InTransactionAsync(work, cancellationToken);

    internal static string ResultName(VerdictResult result) => result.ToString().ToLowerInvariant();

    private static string Serialize<T>(IReadOnlyList<T> items) => JsonSerializer.Serialize(items, Json);

    private static IReadOnlyList<T> Deserialize<T>(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<T>>(json, Json) ?? [];
}
