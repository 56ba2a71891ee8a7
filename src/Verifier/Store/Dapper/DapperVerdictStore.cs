using System.Data.Common;
using System.Text.Json;
using Dapper;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Store.Dapper;

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

    public async Task<bool> SaveWalkAsync(WalkResult walk, DateTimeOffset checkedAt, string? tag, ProcessedEvent? processedEvent, CancellationToken cancellationToken)
    {
        var saved = true;
        await connections.InTransactionAsync(async (connection, transaction) =>
        {
            var now = checkedAt.ToUnixTimeMilliseconds();
            var present = walk.Present.ToArray();
            var missing = walk.Missing.Select(m => m.Digest).Except(present, StringComparer.Ordinal).Distinct(StringComparer.Ordinal).ToArray();
            // Dapper expands a list into parameters for SQLite; Npgsql takes it as one array parameter.
            var (inPresent, inMissing) = connections.Provider == StoreProvider.Postgres ? ("= ANY(@present)", "= ANY(@missing)") : ("IN @present", "IN @missing");
            if (await connection.ExecuteScalarAsync<long>($"""
                SELECT COUNT(*) FROM digest_changes WHERE repository = @repository AND changed_ms > @now
                AND ((deleted_ms > @now AND digest {inPresent}) OR (pushed_ms > @now AND digest {inMissing}))
                """, new { repository = walk.Repository, now, present, missing }, transaction) > 0)
            {
                saved = false;
                return;
            }
            // Copies of one event (the registry resends when answered late) can be walked at once by
            // competing consumers; the first to commit stores the verdict, the others store nothing.
            if (processedEvent is not null && await DapperEventLog.InsertAsync(connection, transaction, processedEvent, now) == 0 && !processedEvent.Replay)
                return;
            // Rows are locked in digest order (children, then the root), so concurrent walks cannot deadlock.
            foreach (var (digest, mediaType) in walk.Manifests.Where(m => m.Key != walk.Digest).OrderBy(m => m.Key, StringComparer.Ordinal))
                await UpsertSeenChildAsync(connection, transaction, walk.Repository, digest, mediaType, now);
            var current = await ReadVerdictAsync(connection, transaction, walk.Repository, walk.Digest);
            if (current is not null || !walk.RootMissing)
            {
                var next = VerdictRules.ApplyWalk(current ?? StoredVerdict.None, walk, checkedAt);
                if (!ReferenceEquals(next, current))
                    await WriteVerdictAsync(connection, transaction, walk.Repository, walk.Digest, next, now);
            }
            if (!walk.RootMissing)
            {
                await connection.ExecuteAsync(
                    "UPDATE manifests SET subject_digest = @subject WHERE repository = @repository AND digest = @digest",
                    walk.Subjects.Select(s => new { repository = walk.Repository, digest = s.Key, subject = s.Value }),
                    transaction);
                // A manifest's references are part of its digest: a walk of any age records them truly.
                await InsertReferencesAsync(connection, transaction, walk.Repository, walk.Edges);
            }
            if (tag is not null)
            {
                // Ordered by the push event's time (capped at our clock), not the walk's: a late push never outranks a later delete.
                var pushedMs = time.NoLaterThanNow(processedEvent?.OccurredAt ?? checkedAt).ToUnixTimeMilliseconds();
                await TagChanges.FillRemovedTagDigestAsync(connection, transaction, walk.Repository, tag, walk.Digest, pushedMs);
                if (!walk.RootMissing && await TagChanges.RecordPushAsync(connection, transaction, walk.Repository, tag, pushedMs))
                    await UpsertTagAsync(connection, transaction, walk.Repository, tag, walk.Digest, now);
            }
            await connection.ExecuteAsync("""
                INSERT INTO verdict_history (repository, digest, result, checked_ms, missing_json, reasons_json, event_id)
                VALUES (@Repository, @Digest, @result, @now, @missing, @reasons, @eventId)
                """,
                new { walk.Repository, walk.Digest, result = walk.RootMissing ? "missing" : ResultName(walk.Result), now, missing = Serialize(walk.Missing), reasons = Serialize(walk.IndeterminateReasons), eventId = processedEvent?.EventId },
                transaction);
        }, cancellationToken);
        return saved;
    }

    public Task RecordPushAsync(string repository, string digest, DateTimeOffset at, CancellationToken cancellationToken) =>
        connections.InTransactionAsync((connection, transaction) => RecordChangeAsync(connection, transaction, repository, digest, at, deleted: false), cancellationToken);

    private static Task RecordChangeAsync(DbConnection connection, DbTransaction transaction, string repository, string digest, DateTimeOffset at, bool deleted) =>
        ChangeTimes.RecordAsync(connection, transaction, "digest_changes", "digest", repository, digest, deleted, at.ToUnixTimeMilliseconds());

    public Task MarkDeletedAsync(string repository, string digest, DateTimeOffset deletedAt, ProcessedEvent? processedEvent, CancellationToken cancellationToken) =>
        connections.InTransactionAsync(async (connection, transaction) =>
        {
            await RecordChangeAsync(connection, transaction, repository, digest, deletedAt, deleted: true);
            if (await ReadVerdictAsync(connection, transaction, repository, digest) is { } current)
            {
                var next = VerdictRules.ApplyDeletion(current, deletedAt);
                if (!ReferenceEquals(next, current))
                    await WriteVerdictAsync(connection, transaction, repository, digest, next, deletedAt.ToUnixTimeMilliseconds());
            }
            if (processedEvent is not null)
                await DapperEventLog.InsertAsync(connection, transaction, processedEvent, deletedAt.ToUnixTimeMilliseconds());
        }, cancellationToken);

    public Task DeleteTagAsync(string repository, string tag, DateTimeOffset deletedAt, ProcessedEvent? processedEvent, CancellationToken cancellationToken) =>
        connections.InTransactionAsync(async (connection, transaction) =>
        {
            if (await TagChanges.RecordDeletionAsync(connection, transaction, repository, tag, deletedAt.ToUnixTimeMilliseconds()))
            {
                await connection.ExecuteAsync("DELETE FROM tags WHERE repository = @repository AND tag = @tag", new { repository, tag }, transaction);
                await connection.ExecuteAsync("DELETE FROM dangling_tags WHERE repository = @repository AND tag = @tag", new { repository, tag }, transaction);
            }
            if (processedEvent is not null)
                await DapperEventLog.InsertAsync(connection, transaction, processedEvent, time.GetUtcNow().ToUnixTimeMilliseconds());
        }, cancellationToken);

    public Task<IReadOnlyList<string>> FindReferrersAsync(string repository, string digest, CancellationToken cancellationToken) =>
        FindReferrersAsync(repository, digest, "", cancellationToken);

    public Task<IReadOnlyList<string>> FindUnhealthyReferrersAsync(string repository, string digest, CancellationToken cancellationToken) =>
        FindReferrersAsync(repository, digest, " AND (m.result IS NULL OR m.result <> 'healthy' OR m.stale_since_ms IS NOT NULL)", cancellationToken);

    private async Task<IReadOnlyList<string>> FindReferrersAsync(string repository, string digest, string condition, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var parents = await connection.QueryAsync<string>($"""
            SELECT r.parent_digest FROM manifest_references r
            JOIN manifests m ON m.repository = r.repository AND m.digest = r.parent_digest
            WHERE r.repository = @repository AND r.child_digest = @digest AND m.deleted_ms IS NULL{condition}
            """, new { repository, digest });
        return parents.Distinct().ToList();
    }

    public async Task<VerdictCounts> CountVerdictsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleAsync<CountsRow>(new CommandDefinition("""
            SELECT CAST(COALESCE(SUM(CASE WHEN result = 'broken' THEN 1 ELSE 0 END), 0) AS BIGINT) AS Broken,
                   CAST(COALESCE(SUM(CASE WHEN attempt_result = 'indeterminate' THEN 1 ELSE 0 END), 0) AS BIGINT) AS Indeterminate,
                   CAST(COALESCE(SUM(CASE WHEN result = 'healthy' THEN 1 ELSE 0 END), 0) AS BIGINT) AS Healthy,
                   CAST(COALESCE(SUM(CASE WHEN result = 'broken' THEN missing_count ELSE 0 END), 0) AS BIGINT) AS MissingObjects,
                   CAST(COALESCE(SUM(CASE WHEN stale_since_ms IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS Stale,
                   CAST(COALESCE(MIN(stale_since_ms), 0) AS BIGINT) AS OldestStaleMs,
                   (SELECT COUNT(*) FROM dangling_tags) AS DanglingTags
            FROM manifests WHERE deleted_ms IS NULL AND result IS NOT NULL
            """, cancellationToken: cancellationToken));
        return new VerdictCounts(row.Broken + row.DanglingTags, row.Indeterminate, row.Healthy, row.MissingObjects + row.DanglingTags)
        {
            Stale = row.Stale,
            StaleSince = row.OldestStaleMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(row.OldestStaleMs) : null,
            DanglingTags = row.DanglingTags,
        };
    }

    private sealed record CountsRow(long Broken, long Indeterminate, long Healthy, long MissingObjects, long Stale, long OldestStaleMs, long DanglingTags);

    public async Task<IReadOnlyList<DanglingTag>> ListDanglingTagsAsync(PageKey? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Repository, string Tag, string? Digest, long SinceMs, long CheckedMs)>(new CommandDefinition($"""
            SELECT repository, tag, digest, since_ms, checked_ms FROM dangling_tags
            {(after is null ? "" : "WHERE (repository, tag) > (@Repository, @Name)")}
            ORDER BY repository, tag LIMIT @limit
            """, new { after?.Repository, after?.Name, limit }, cancellationToken: cancellationToken));
        return rows.Select(r => DanglingTag.Create(
            r.Repository, r.Tag, r.Digest, DateTimeOffset.FromUnixTimeMilliseconds(r.SinceMs), DateTimeOffset.FromUnixTimeMilliseconds(r.CheckedMs))).ToList();
    }

    public async Task<IReadOnlyList<ManifestVerdict>> ListBrokenAsync(PageKey? after, int limit, CancellationToken cancellationToken)
    {
        const string Broken = "m.deleted_ms IS NULL AND m.result = 'broken'";
        var afterKey = after is null ? "" : " AND (m.repository, m.digest) > (@Repository, @Name)";
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = (await connection.QueryAsync<ManifestRow>(new CommandDefinition(
            $"{SelectManifest} m WHERE {Broken}{afterKey} ORDER BY m.repository, m.digest LIMIT @limit",
            new { after?.Repository, after?.Name, limit }, cancellationToken: cancellationToken))).ToList();
        if (rows.Count == 0)
            return [];
        // The tags of this page only: the page's key range, read through the same partial index.
        var tags = (await connection.QueryAsync<(string Repository, string Digest, string Tag)>(new CommandDefinition($"""
            SELECT t.repository, t.digest, t.tag FROM manifests m
            JOIN tags t ON t.repository = m.repository AND t.digest = m.digest
            WHERE {Broken}{afterKey} AND (m.repository, m.digest) <= (@LastRepository, @LastDigest)
            """, new { after?.Repository, after?.Name, LastRepository = rows[^1].Repository, LastDigest = rows[^1].Digest },
            cancellationToken: cancellationToken))).ToLookup(t => (t.Repository, t.Digest), t => t.Tag);
        return rows.Select(r => r.ToVerdict(tags[(r.Repository, r.Digest)].Order(StringComparer.Ordinal).ToList())).ToList();
    }

    public async Task<IReadOnlyList<ManifestVerdict>> ListManifestsAsync(string repository, string? afterDigest, int limit, CancellationToken cancellationToken)
    {
        var afterKey = afterDigest is null ? "" : " AND m.digest > @afterDigest";
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = (await connection.QueryAsync<ManifestRow>(new CommandDefinition(
            $"{SelectManifest} m WHERE m.repository = @repository AND m.deleted_ms IS NULL{afterKey} ORDER BY m.digest LIMIT @limit",
            new { repository, afterDigest, limit }, cancellationToken: cancellationToken))).ToList();
        if (rows.Count == 0)
            return [];
        var tags = (await connection.QueryAsync<(string Digest, string Tag)>(new CommandDefinition("""
            SELECT digest, tag FROM tags WHERE repository = @repository AND digest >= @FirstDigest AND digest <= @LastDigest
            """, new { repository, FirstDigest = rows[0].Digest, LastDigest = rows[^1].Digest },
            cancellationToken: cancellationToken))).ToLookup(t => t.Digest, t => t.Tag);
        return rows.Select(r => r.ToVerdict(tags[r.Digest].Order(StringComparer.Ordinal).ToList())).ToList();
    }

    public async Task<string?> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
            "SELECT digest FROM tags WHERE repository = @repository AND tag = @tag", new { repository, tag }, cancellationToken: cancellationToken));
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

    private const string VerdictColumns = """
        media_type AS MediaType, result AS Result, checked_ms AS CheckedMs, since_ms AS SinceMs, missing_json AS MissingJson,
        reasons_json AS ReasonsJson, attempt_ms AS AttemptMs, attempt_result AS AttemptResult, attempt_reasons_json AS AttemptReasonsJson,
        stale_since_ms AS StaleSinceMs, seen_ms AS SeenMs, deleted_ms AS DeletedMs
        """;

    private const string SelectManifest = $"""
        SELECT repository AS Repository, digest AS Digest, subject_digest AS SubjectDigest, {VerdictColumns}
        FROM manifests
        """;

    private sealed record VerdictRow(
        string? MediaType, string? Result, long? CheckedMs, long? SinceMs, string? MissingJson, string? ReasonsJson,
        long? AttemptMs, string? AttemptResult, string? AttemptReasonsJson, long? StaleSinceMs, long? SeenMs, long? DeletedMs)
    {
        public StoredVerdict ToStoredVerdict() => new(
            MediaType, Result, Time(CheckedMs), Time(SinceMs), Deserialize<MissingObject>(MissingJson), Deserialize<string>(ReasonsJson),
            Time(AttemptMs), AttemptResult, Deserialize<string>(AttemptReasonsJson), Time(StaleSinceMs), Time(SeenMs), Time(DeletedMs));
    }

    private sealed record ManifestRow(
        string Repository, string Digest, string? SubjectDigest, string? MediaType, string? Result, long? CheckedMs, long? SinceMs,
        string? MissingJson, string? ReasonsJson, long? AttemptMs, string? AttemptResult, string? AttemptReasonsJson, long? StaleSinceMs,
        long? SeenMs, long? DeletedMs)
    {
        public ManifestVerdict ToVerdict(IReadOnlyList<string> tags) => new(
            Repository, Digest, MediaType, Result, Time(CheckedMs), Time(SinceMs), Time(DeletedMs),
            Deserialize<MissingObject>(MissingJson), Deserialize<string>(ReasonsJson), tags, SubjectDigest)
        {
            LastAttempt = AttemptMs is { } attempt ? new VerdictAttempt(AttemptResult ?? "", DateTimeOffset.FromUnixTimeMilliseconds(attempt), Deserialize<string>(AttemptReasonsJson)) : null,
            StaleSince = Time(StaleSinceMs),
        };
    }

    /// <summary>The manifest's verdict row, locked until the transaction ends (SQLite transactions hold the database lock already).</summary>
    private async Task<StoredVerdict?> ReadVerdictAsync(DbConnection connection, DbTransaction transaction, string repository, string digest)
    {
        var lockRow = connections.Provider == StoreProvider.Postgres ? " FOR UPDATE" : "";
        var row = await connection.QuerySingleOrDefaultAsync<VerdictRow>(
            $"SELECT {VerdictColumns} FROM manifests WHERE repository = @repository AND digest = @digest{lockRow}",
            new { repository, digest }, transaction);
        return row?.ToStoredVerdict();
    }

    private static Task WriteVerdictAsync(DbConnection connection, DbTransaction transaction, string repository, string digest, StoredVerdict verdict, long now) =>
        connection.ExecuteAsync("""
            INSERT INTO manifests (repository, digest, media_type, first_seen_ms, result, checked_ms, since_ms, missing_json, missing_count, reasons_json,
                                   attempt_ms, attempt_result, attempt_reasons_json, stale_since_ms, seen_ms, deleted_ms)
            VALUES (@repository, @digest, @MediaType, @now, @Result, @checkedMs, @sinceMs, @missing, @missingCount, @reasons,
                    @attemptMs, @AttemptResult, @attemptReasons, @staleSinceMs, @seenMs, @deletedMs)
            ON CONFLICT (repository, digest) DO UPDATE SET
                media_type = excluded.media_type, result = excluded.result, checked_ms = excluded.checked_ms, since_ms = excluded.since_ms,
                missing_json = excluded.missing_json, missing_count = excluded.missing_count, reasons_json = excluded.reasons_json,
                attempt_ms = excluded.attempt_ms, attempt_result = excluded.attempt_result, attempt_reasons_json = excluded.attempt_reasons_json,
                stale_since_ms = excluded.stale_since_ms, seen_ms = excluded.seen_ms, deleted_ms = excluded.deleted_ms
            """,
            new
            {
                repository, digest, verdict.MediaType, now, verdict.Result, checkedMs = Ms(verdict.CheckedAt), sinceMs = Ms(verdict.Since),
                missing = Serialize(verdict.Missing), missingCount = verdict.Missing.Count, reasons = Serialize(verdict.Reasons),
                attemptMs = Ms(verdict.AttemptAt), verdict.AttemptResult, attemptReasons = Serialize(verdict.AttemptReasons),
                staleSinceMs = Ms(verdict.StaleSince), seenMs = Ms(verdict.SeenAt), deletedMs = Ms(verdict.DeletedAt),
            },
            transaction);

    private static long? Ms(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();

    private static DateTimeOffset? Time(long? unixMs) => unixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>A manifest seen present as a child at <paramref name="now"/>: a deletion observed before that is over.</summary>
    private static Task UpsertSeenChildAsync(DbConnection connection, DbTransaction transaction, string repository, string digest, string? mediaType, long now) =>
        connection.ExecuteAsync("""
            INSERT INTO manifests (repository, digest, media_type, first_seen_ms, seen_ms) VALUES (@repository, @digest, @mediaType, @now, @now)
            ON CONFLICT (repository, digest) DO UPDATE SET
                media_type = COALESCE(excluded.media_type, manifests.media_type),
                deleted_ms = CASE WHEN manifests.deleted_ms <= excluded.seen_ms THEN NULL ELSE manifests.deleted_ms END,
                seen_ms = CASE WHEN manifests.seen_ms > excluded.seen_ms THEN manifests.seen_ms ELSE excluded.seen_ms END
            """, new { repository, digest, mediaType, now }, transaction);

    private const int ReferencesPerStatement = 100;

    /// <summary>
    /// Edges in statements of <see cref="ReferencesPerStatement"/> rows, not one statement per edge: an index walk of
    /// benchmarks/fsck's tree has ~17 edges, and one statement each took about a quarter of the time fsck spent
    /// running store statements (a profile on its 10 000 manifests).
    /// </summary>
    private static async Task InsertReferencesAsync(DbConnection connection, DbTransaction transaction, string repository, IReadOnlyList<Edge> edges)
    {
        foreach (var chunk in edges.Chunk(ReferencesPerStatement))
        {
            var parameters = new DynamicParameters(new { repository });
            var rows = new System.Text.StringBuilder();
            for (var i = 0; i < chunk.Length; i++)
            {
                rows.Append(i == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"(@repository, @p{i}, @c{i}, @k{i})");
                parameters.Add($"p{i}", chunk[i].Parent);
                parameters.Add($"c{i}", chunk[i].Child);
                parameters.Add($"k{i}", chunk[i].Kind.ToString());
            }
            await connection.ExecuteAsync($"""
                INSERT INTO manifest_references (repository, parent_digest, child_digest, kind) VALUES {rows}
                ON CONFLICT (repository, parent_digest, child_digest) DO NOTHING
                """, parameters, transaction);
        }
    }

    /// <summary>The tag as resolved at <paramref name="now"/>, unless a later listing or push already said otherwise.</summary>
    private static async Task UpsertTagAsync(DbConnection connection, DbTransaction transaction, string repository, string tag, string digest, long now)
    {
        await connection.ExecuteAsync("""
            INSERT INTO tags (repository, tag, digest, updated_ms) VALUES (@repository, @tag, @digest, @now)
            ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_ms = excluded.updated_ms
            WHERE tags.updated_ms <= excluded.updated_ms
            """, new { repository, tag, digest, now }, transaction);
        await connection.ExecuteAsync(
            "DELETE FROM dangling_tags WHERE repository = @repository AND tag = @tag AND checked_ms <= @now",
            new { repository, tag, now }, transaction);
    }

    internal static string ResultName(VerdictResult result) => result.ToString().ToLowerInvariant();

    private static string Serialize<T>(IReadOnlyList<T> items) => JsonSerializer.Serialize(items, Json);

    private static IReadOnlyList<T> Deserialize<T>(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<T>>(json, Json) ?? [];
}
