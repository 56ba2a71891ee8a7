using Dapper;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>Sweeps on Dapper; like <see cref="DapperVerdictStore"/>, one SQL dialect for SQLite and PostgreSQL.</summary>
public sealed class DapperSweepStore(IDbConnectionFactory connections) : ISweepStore
{
    private const string SelectSweep = """
        SELECT id AS Id, trigger_name AS TriggerName, started_ms AS StartedMs, enumerated_ms AS EnumeratedMs, completed_ms AS CompletedMs,
               repositories_total AS RepositoriesTotal, repositories_done AS RepositoriesDone, manifests_checked AS ManifestsChecked,
               tags_seen AS TagsSeen, catalog_error AS CatalogError
        FROM sweeps
        """;

    // A sweep completes when every repository message was handled and the enumeration is known to be over,
    // whichever of the two comes last.
    private const string CompleteWhenDone =
        "completed_ms = CASE WHEN completed_ms IS NULL AND repositories_total IS NOT NULL AND repositories_done >= repositories_total THEN @now ELSE completed_ms END";

    public Task StartSweepAsync(Guid id, string trigger, DateTimeOffset startedAt, CancellationToken cancellationToken) =>
        connections.InTransactionAsync((connection, transaction) => connection.ExecuteAsync(
            "INSERT INTO sweeps (id, trigger_name, started_ms) VALUES (@id, @trigger, @now) ON CONFLICT (id) DO NOTHING",
            new { id = id.ToString(), trigger, now = startedAt.ToUnixTimeMilliseconds() }, transaction), cancellationToken);

    public async Task<SweepProgress> SetEnumeratedAsync(Guid id, int repositories, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await connections.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(
                "UPDATE sweeps SET repositories_total = @repositories, enumerated_ms = @now WHERE id = @id",
                new { id = id.ToString(), repositories, now = at.ToUnixTimeMilliseconds() }, transaction);
            await connection.ExecuteAsync($"UPDATE sweeps SET {CompleteWhenDone} WHERE id = @id", new { id = id.ToString(), now = at.ToUnixTimeMilliseconds() }, transaction);
        }, cancellationToken);
        return (await GetSweepAsync(id, cancellationToken))!;
    }

    public Task FailSweepAsync(Guid id, string catalogError, DateTimeOffset at, CancellationToken cancellationToken) =>
        connections.InTransactionAsync((connection, transaction) => connection.ExecuteAsync(
            "UPDATE sweeps SET catalog_error = @catalogError, enumerated_ms = @now WHERE id = @id",
            new { id = id.ToString(), catalogError, now = at.ToUnixTimeMilliseconds() }, transaction), cancellationToken);

    public async Task<SweepProgress> RepositoryDoneAsync(Guid id, int manifestsChecked, int tagsSeen, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await connections.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("""
                UPDATE sweeps SET repositories_done = repositories_done + 1, manifests_checked = manifests_checked + @manifestsChecked,
                                  tags_seen = tags_seen + @tagsSeen
                WHERE id = @id
                """, new { id = id.ToString(), manifestsChecked, tagsSeen }, transaction);
            await connection.ExecuteAsync($"UPDATE sweeps SET {CompleteWhenDone} WHERE id = @id", new { id = id.ToString(), now = at.ToUnixTimeMilliseconds() }, transaction);
        }, cancellationToken);
        return (await GetSweepAsync(id, cancellationToken))!;
    }

    public async Task<SweepProgress?> GetSweepAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<SweepRow>($"{SelectSweep} WHERE id = @id", new { id = id.ToString() }))?.ToProgress();
    }

    public async Task<IReadOnlyList<SweepProgress>> ListSweepsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<SweepRow>(new CommandDefinition(
            $"{SelectSweep} ORDER BY started_ms DESC, id LIMIT @limit", new { limit }, cancellationToken: cancellationToken)))
            .Select(row => row.ToProgress()).ToList();
    }

    public async Task<SweepProgress?> GetLatestSweepAsync(bool completedOnly, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var sql = completedOnly
            ? $"{SelectSweep} WHERE completed_ms IS NOT NULL ORDER BY completed_ms DESC LIMIT 1"
            : $"{SelectSweep} ORDER BY started_ms DESC LIMIT 1";
        return (await connection.QuerySingleOrDefaultAsync<SweepRow>(sql))?.ToProgress();
    }

    public async Task<IReadOnlyList<string>> ListRepositoriesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<string>("""
            SELECT repository FROM (
                SELECT repository, MIN(COALESCE(checked_ms, 0)) AS oldest FROM manifests WHERE deleted_ms IS NULL GROUP BY repository
                UNION ALL
                SELECT repository, 0 AS oldest FROM tags GROUP BY repository
                UNION ALL
                SELECT repository, 0 AS oldest FROM dangling_tags GROUP BY repository
            ) known
            GROUP BY repository ORDER BY MIN(oldest), repository
            """)).ToList();
    }

    /// <param name="tagsMissing">The listing answered 404 NAME_UNKNOWN: no <c>_manifests/tags</c>.</param>
    public Task RecordTagDirectoryAsync(string repository, bool tagsMissing, DateTimeOffset listedAt, CancellationToken cancellationToken) =>
        connections.InTransactionAsync((connection, transaction) => connection.ExecuteAsync("""
            INSERT INTO tag_directories (repository, tags_missing, listed_ms) VALUES (@repository, @missing, @listed)
            ON CONFLICT (repository) DO UPDATE SET tags_missing = excluded.tags_missing, listed_ms = excluded.listed_ms
            WHERE tag_directories.listed_ms <= excluded.listed_ms
            """, new { repository, missing = tagsMissing ? 1 : 0, listed = listedAt.ToUnixTimeMilliseconds() }, transaction), cancellationToken);

    public async Task<long> CountRepositoriesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            SELECT COUNT(*) FROM (
                SELECT DISTINCT repository FROM manifests WHERE deleted_ms IS NULL
                UNION SELECT DISTINCT repository FROM tags
                UNION SELECT DISTINCT repository FROM dangling_tags
            ) known
            """, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<string>> ListVerifiedManifestsAsync(string repository, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        // Also a manifest deleted and then pushed again whose push walk could not reach the registry (an outage, an open
        // circuit): untagged, no tag leads a sweep to it, and it would stay "deleted" while the registry serves it.
        return (await connection.QueryAsync<string>("""
            SELECT m.digest FROM manifests m
            WHERE m.repository = @repository AND m.result IS NOT NULL
              AND (m.deleted_ms IS NULL OR EXISTS (
                  SELECT 1 FROM digest_changes c WHERE c.repository = m.repository AND c.digest = m.digest AND c.pushed_ms > m.deleted_ms))
            ORDER BY m.checked_ms
            """, new { repository })).ToList();
    }

    public async Task<bool> ReconcileTagsAsync(
        string repository, IReadOnlyDictionary<string, string> tags, IReadOnlyCollection<string> danglingTags, DateTimeOffset listedAt,
        CancellationToken cancellationToken)
    {
        var applied = false;
        await connections.InTransactionAsync(async (connection, transaction) =>
        {
            var now = listedAt.ToUnixTimeMilliseconds();
            // Two sweeps can overlap: a slower one must not bring back tags that a later listing saw gone.
            applied = await connection.ExecuteAsync("""
                INSERT INTO tag_listings (repository, listed_ms) VALUES (@repository, @now)
                ON CONFLICT (repository) DO UPDATE SET listed_ms = excluded.listed_ms WHERE tag_listings.listed_ms < excluded.listed_ms
                """, new { repository, now }, transaction) == 1;
            if (!applied)
                return;
            // Tags written after the listing (a push event processed meanwhile) are newer than it: left alone.
            var stored = (await connection.QueryAsync<(string Tag, string Digest, long UpdatedMs)>(
                "SELECT tag, digest, updated_ms FROM tags WHERE repository = @repository", new { repository }, transaction))
                .ToDictionary(t => t.Tag);
            var older = stored.Values.Where(t => t.UpdatedMs <= now).ToDictionary(t => t.Tag, t => t.Digest);
            // Listed before a deletion that was processed first: the tag is gone, this listing is out of date about it.
            var deletedSince = await TagChanges.DeletedSinceAsync(connection, transaction, repository, now);
            await connection.ExecuteAsync(
                "DELETE FROM tags WHERE repository = @repository AND tag = @tag AND updated_ms <= @now",
                older.Keys.Where(tag => !tags.ContainsKey(tag)).Select(tag => new { repository, tag, now }), transaction);
            await connection.ExecuteAsync("""
                INSERT INTO tags (repository, tag, digest, updated_ms) VALUES (@repository, @Key, @Value, @now)
                ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_ms = excluded.updated_ms
                WHERE tags.updated_ms <= excluded.updated_ms
                """,
                tags.Where(t => !deletedSince.Contains(t.Key) && (!stored.TryGetValue(t.Key, out var s) || (s.UpdatedMs <= now && s.Digest != t.Value)))
                    .Select(t => new { repository, t.Key, t.Value, now }),
                transaction);

            var dangling = danglingTags.Where(tag => !deletedSince.Contains(tag) && (!stored.TryGetValue(tag, out var s) || s.UpdatedMs <= now)).ToList();
            await connection.ExecuteAsync("""
                INSERT INTO dangling_tags (repository, tag, digest, since_ms, checked_ms) VALUES (@repository, @tag, @digest, @now, @now)
                ON CONFLICT (repository, tag) DO UPDATE SET
                    digest = COALESCE(excluded.digest, dangling_tags.digest), checked_ms = excluded.checked_ms
                WHERE dangling_tags.checked_ms <= excluded.checked_ms
                """,
                dangling.Select(tag => new { repository, tag, digest = older.GetValueOrDefault(tag), now }), transaction);
            var stillDangling = dangling.ToHashSet(StringComparer.Ordinal);
            var danglingBefore = await connection.QueryAsync<string>(
                "SELECT tag FROM dangling_tags WHERE repository = @repository AND checked_ms <= @now", new { repository, now }, transaction);
            await connection.ExecuteAsync(
                "DELETE FROM dangling_tags WHERE repository = @repository AND tag = @tag AND checked_ms <= @now",
                danglingBefore.Where(tag => !stillDangling.Contains(tag)).Select(tag => new { repository, tag, now }), transaction);
        }, cancellationToken);
        return applied;
    }

    public async Task<bool> RecordInstanceAsync(string instanceId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var inserted = 0;
        await connections.InTransactionAsync(async (connection, transaction) => inserted = await connection.ExecuteAsync(
            "INSERT INTO registry_instances (instance_id, first_seen_ms) VALUES (@instanceId, @now) ON CONFLICT (instance_id) DO NOTHING",
            new { instanceId, now = at.ToUnixTimeMilliseconds() }, transaction), cancellationToken);
        return inserted == 1;
    }

    public async Task<long> CountInventoryAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>("""
            SELECT (SELECT COUNT(*) FROM manifests WHERE deleted_ms IS NULL)
                 + (SELECT COUNT(*) FROM (SELECT DISTINCT repository, child_digest FROM manifest_references) blobs)
            """);
    }

    private sealed record SweepRow(
        string Id, string TriggerName, long StartedMs, long? EnumeratedMs, long? CompletedMs, long? RepositoriesTotal,
        long RepositoriesDone, long ManifestsChecked, long TagsSeen, string? CatalogError)
    {
        public SweepProgress ToProgress() => new(
            Guid.Parse(Id), TriggerName, DateTimeOffset.FromUnixTimeMilliseconds(StartedMs), Time(EnumeratedMs), Time(CompletedMs),
            (int?)RepositoriesTotal, (int)RepositoriesDone, (int)ManifestsChecked, (int)TagsSeen, CatalogError);

        private static DateTimeOffset? Time(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;
    }
}
