using System.Diagnostics;
using System.Globalization;
using Dapper;
using Npgsql;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store.Retention;

// Store benchmark: a PostgreSQL verdict store the size of a large registry (default 1 million manifests,
// 10 million history rows), the slowest API, scrape and scheduler queries before and after the bounded-growth
// change (migration 005, paged lists, counts in SQL), then one retention pass with the default periods.
//   dotnet run -c Release --project benchmarks/store -- [--manifests 1000000] [--history 10000000] [--rounds 5]
var manifests = Argument("--manifests", 1_000_000);
var historyRows = Argument("--history", 10_000_000);
var rounds = Argument("--rounds", 5);
Console.WriteLine($"store benchmark: {manifests} manifests, {historyRows} history rows, {rounds} rounds; {Environment.ProcessorCount} cores, load {Load()}");

await using var stack = await LocalStack.StartAsync(StackServices.Postgres);
var now = DateTimeOffset.UtcNow;
var clock = Stopwatch.StartNew();
var before = await CreateDatabaseAsync("before");
await SeedAsync(before, manifests, historyRows, now);
Console.WriteLine($"seeded in {clock.Elapsed.TotalSeconds:F0} s; load {Load()}");
// "after" is the same data with every migration applied; "before" loses what migration 005 added.
await ExecuteAsync(stack.PostgresConnectionString, "CREATE DATABASE after TEMPLATE before");
var after = Connection("after");
foreach (var index in new[] { "ix_verdict_history_checked", "ix_manifests_deleted", "ix_manifests_broken", "ix_manifests_stale", "ix_processed_events_repository" })
    await ExecuteAsync(before, $"DROP INDEX {index}");
await ExecuteAsync(before, "VACUUM ANALYZE");
await ExecuteAsync(after, "VACUUM ANALYZE");

var afterConnections = new NpgsqlConnectionFactory(NpgsqlDataSource.Create(after));
var verdicts = new DapperVerdictStore(afterConnections, TimeProvider.System);
var sweeps = new DapperSweepStore(afterConnections);
var retention = new DapperStoreRetention(afterConnections, new DapperEventLog(afterConnections, TimeProvider.System));

Console.WriteLine();
Console.WriteLine($"store size: before {await SizeAsync(before)}, after {await SizeAsync(after)} (indexes of migration 005: {await IndexSizeAsync(after)})");
Console.WriteLine();
Console.WriteLine("| query (called by) | before: median ms | after: median ms | after / before |");
Console.WriteLine("|---|---|---|---|");
await CompareAsync("broken gauge and counts (every scrape)", () => QueryAsync(before, CountVerdictsSql), () => verdicts.CountVerdictsAsync(default));
await CompareAsync("repositories gauge (every scrape)", () => QueryAsync(before, ListRepositoriesSql), () => sweeps.CountRepositoriesAsync(default));
await CompareAsync("sweep inventory (scheduler, every 30 s)", () => QueryAsync(before, InventoryBeforeSql), () => sweeps.CountInventoryAsync(default));
await CompareAsync("GET /v1/broken (before: every broken manifest; after: first page of 1000)",
    () => QueryAsync(before, BrokenBeforeSql), () => verdicts.ListBrokenAsync(null, 1001, default));
await CompareAsync("GET /v1/manifests?repository= (after only: one page)", () => Task.CompletedTask,
    () => verdicts.ListManifestsAsync("team7/app", null, 1001, default));
await CompareAsync("GET /v1/manifests history of one manifest", () => QueryAsync(before, HistorySql), () => verdicts.GetHistoryAsync("team1/app", Digest(1), 50, default));
await CompareAsync("replay of one repository's events", () => QueryAsync(before, ReplaySql), () => QueryAsync(after, ReplaySql));

Console.WriteLine();
clock.Restart();
var pruned = await retention.PruneAsync(new RetentionCutOffs(now.AddDays(-30), now.AddDays(-30), now.AddDays(-7), now.AddDays(-30)), 5000, default);
Console.WriteLine($"retention pass with the default periods: {clock.Elapsed.TotalSeconds:F1} s; pruned {pruned}");
clock.Restart();
var again = await retention.PruneAsync(new RetentionCutOffs(now.AddDays(-30), now.AddDays(-30), now.AddDays(-7), now.AddDays(-30)), 5000, default);
Console.WriteLine($"the next pass (nothing due): {clock.Elapsed.TotalMilliseconds:F0} ms; pruned {again.Total}");
await ExecuteAsync(after, "VACUUM FULL ANALYZE");
Console.WriteLine($"store size after the pass and VACUUM FULL: {await SizeAsync(after)}; rows: {await RowsAsync(after)}");
await CompareAsync("broken gauge and counts, after retention", () => QueryAsync(before, CountVerdictsSql), () => verdicts.CountVerdictsAsync(default));
return 0;

async Task CompareAsync(string name, Func<Task> baseline, Func<Task> change)
{
    await baseline();
    await change();
    var (b, a) = (new List<double>(), new List<double>());
    for (var round = 0; round < rounds; round++)
    {
        b.Add(await TimeAsync(baseline));
        a.Add(await TimeAsync(change));
    }
    var (mb, ma) = (Median(b), Median(a));
    var ratio = mb > 0.05 ? $"{ma / mb:F3}" : "-";
    Console.WriteLine($"| {name} | {(mb > 0.05 ? mb.ToString("F1", CultureInfo.InvariantCulture) : "-")} | {ma:F1} | {ratio} |");
}

static async Task<double> TimeAsync(Func<Task> work)
{
    var stopwatch = Stopwatch.StartNew();
    await work();
    return stopwatch.Elapsed.TotalMilliseconds;
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

async Task<string> CreateDatabaseAsync(string name)
{
    await ExecuteAsync(stack.PostgresConnectionString, $"CREATE DATABASE {name}");
    var connectionString = Connection(name);
    await new DapperVerdictStore(new NpgsqlConnectionFactory(NpgsqlDataSource.Create(connectionString)), TimeProvider.System).MigrateAsync(default);
    return connectionString;
}

string Connection(string database) =>
    new NpgsqlConnectionStringBuilder(stack.PostgresConnectionString) { Database = database, CommandTimeout = 0, Pooling = false }.ToString();

static async Task ExecuteAsync(string connectionString, string sql, object? parameters = null)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.ExecuteAsync(new CommandDefinition(sql, parameters, commandTimeout: 0));
}

static async Task QueryAsync(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    (await connection.QueryAsync(new CommandDefinition(sql, new { repository = "team3/app", digest = Digest(1), from = 0L, to = long.MaxValue }, commandTimeout: 0))).AsList();
}

static async Task<string> SizeAsync(string connectionString)
{
    await using var connection = new NpgsqlConnection(connectionString);
    return await connection.ExecuteScalarAsync<string>("SELECT pg_size_pretty(pg_database_size(current_database()))") ?? "?";
}

static async Task<string> IndexSizeAsync(string connectionString)
{
    await using var connection = new NpgsqlConnection(connectionString);
    return await connection.ExecuteScalarAsync<string>("""
        SELECT pg_size_pretty(SUM(pg_relation_size(indexrelid))) FROM pg_stat_user_indexes
        WHERE indexrelname IN ('ix_verdict_history_checked', 'ix_manifests_deleted', 'ix_manifests_broken', 'ix_manifests_stale', 'ix_processed_events_repository')
        """) ?? "?";
}

static async Task<string> RowsAsync(string connectionString)
{
    await using var connection = new NpgsqlConnection(connectionString);
    var rows = await connection.QueryAsync<(string Table, long Rows)>(
        "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname IN ('manifests', 'manifest_references', 'verdict_history', 'processed_events', 'sweeps') ORDER BY relname");
    return string.Join(", ", rows.Select(r => $"{r.Table} {r.Rows}"));
}

static string Digest(long n) => "sha256:" + n.ToString("x64", CultureInfo.InvariantCulture);

static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

int Argument(string name, int fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

// The data: 10 000 repositories of equal size; 1 % broken, 0.5 % stale, 5 % deleted over the last 60 days;
// 3 references and half a tag per manifest; history and events spread over 90 days; a sweep every 5 minutes.
static async Task SeedAsync(string connectionString, int manifests, int historyRows, DateTimeOffset now)
{
    var nowMs = now.ToUnixTimeMilliseconds();
    const long Day = 86_400_000;
    await ExecuteAsync(connectionString, """
        INSERT INTO manifests (repository, digest, media_type, first_seen_ms, deleted_ms, result, checked_ms, since_ms, missing_json, reasons_json,
                               missing_count, attempt_ms, attempt_result, stale_since_ms, seen_ms)
        SELECT 'team' || (i % 10000) || '/app', 'sha256:' || lpad(to_hex(i), 64, '0'), 'application/vnd.oci.image.manifest.v1+json',
               @nowMs - 90 * @Day,
               CASE WHEN i % 20 = 0 THEN @nowMs - (i % 60) * @Day END,
               CASE WHEN i % 100 = 1 THEN 'broken' ELSE 'healthy' END,
               @nowMs - (i % 3600) * 1000, @nowMs - 30 * @Day,
               CASE WHEN i % 100 = 1 THEN '[{"kind":"layer","digest":"sha256:' || lpad(to_hex(i + 900000000), 64, '0') || '","path":[],"statusCode":404,"errorCode":"BLOB_UNKNOWN"}]' ELSE '[]' END,
               '[]', CASE WHEN i % 100 = 1 THEN 1 ELSE 0 END, @nowMs - (i % 3600) * 1000,
               CASE WHEN i % 200 = 7 THEN 'indeterminate' ELSE 'healthy' END,
               CASE WHEN i % 200 = 7 THEN @nowMs - 3600000 END, @nowMs
        FROM generate_series(1::bigint, @manifests) i
        """, new { nowMs, Day, manifests });
    await ExecuteAsync(connectionString, """
        INSERT INTO manifest_references (repository, parent_digest, child_digest, kind)
        SELECT 'team' || (i % 10000) || '/app', 'sha256:' || lpad(to_hex(i), 64, '0'), 'sha256:' || lpad(to_hex(i * 3 + k + 100000000), 64, '0'),
               CASE k WHEN 0 THEN 'config' ELSE 'layer' END
        FROM generate_series(1::bigint, @manifests) i, generate_series(0, 2) k
        """, new { manifests });
    await ExecuteAsync(connectionString, """
        INSERT INTO tags (repository, tag, digest, updated_ms)
        SELECT 'team' || (i % 10000) || '/app', 'v' || i, 'sha256:' || lpad(to_hex(i), 64, '0'), @nowMs
        FROM generate_series(1::bigint, @manifests, 2) i
        """, new { nowMs, manifests });
    await ExecuteAsync(connectionString, """
        INSERT INTO verdict_history (repository, digest, result, checked_ms, missing_json, reasons_json, event_id)
        SELECT 'team' || (m % 10000) || '/app', 'sha256:' || lpad(to_hex(m), 64, '0'), 'healthy', @nowMs - (h % (90 * 24 * 60)) * 60000, '[]', '[]',
               CASE WHEN h % 5 = 0 THEN 'event-' || h END
        FROM (SELECT h, (h % @manifests) + 1 AS m FROM generate_series(1::bigint, @historyRows) h) rows
        """, new { nowMs, manifests, historyRows });
    await ExecuteAsync(connectionString, """
        INSERT INTO processed_events (event_id, message_type, repository, occurred_ms, processed_ms, source_instance_id, payload)
        SELECT 'event-' || e, 'ManifestPushed', 'team' || (e % 10000) || '/app', @nowMs - (e % (90 * 24 * 60)) * 60000, @nowMs - (e % (90 * 24 * 60)) * 60000 + 50,
               'instance-1', '{"eventId":"event-' || e || '","repository":"team' || (e % 10000) || '/app","digest":"sha256:' || lpad(to_hex(e), 64, '0') || '","tag":"v1"}'
        FROM generate_series(1::bigint, @events) e
        """, new { nowMs, events = Math.Max(1, historyRows / 5) });
    await ExecuteAsync(connectionString, """
        INSERT INTO sweeps (id, trigger_name, started_ms, enumerated_ms, completed_ms, repositories_total, repositories_done, manifests_checked, tags_seen)
        SELECT 'sweep-' || s, 'schedule', @nowMs - s * 300000, @nowMs - s * 300000 + 1000, @nowMs - s * 300000 + 200000, 10000, 10000, 1000000, 500000
        FROM generate_series(1::bigint, 90 * 288) s
        """, new { nowMs });
}

// The queries the code ran before this change, kept here as the baseline.
internal partial class Program
{
    private const string CountVerdictsSql = """
        SELECT CAST(COALESCE(SUM(CASE WHEN result = 'broken' THEN 1 ELSE 0 END), 0) AS BIGINT) AS Broken,
               CAST(COALESCE(SUM(CASE WHEN attempt_result = 'indeterminate' THEN 1 ELSE 0 END), 0) AS BIGINT) AS Indeterminate,
               CAST(COALESCE(SUM(CASE WHEN result = 'healthy' THEN 1 ELSE 0 END), 0) AS BIGINT) AS Healthy,
               CAST(COALESCE(SUM(CASE WHEN result = 'broken' THEN missing_count ELSE 0 END), 0) AS BIGINT) AS MissingObjects,
               CAST(COALESCE(SUM(CASE WHEN stale_since_ms IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS Stale,
               CAST(COALESCE(MIN(stale_since_ms), 0) AS BIGINT) AS OldestStaleMs,
               (SELECT COUNT(*) FROM dangling_tags) AS DanglingTags
        FROM manifests WHERE deleted_ms IS NULL AND result IS NOT NULL
        """;

    private const string ListRepositoriesSql = """
        SELECT repository FROM (
            SELECT repository, MIN(COALESCE(checked_ms, 0)) AS oldest FROM manifests WHERE deleted_ms IS NULL GROUP BY repository
            UNION ALL
            SELECT repository, 0 AS oldest FROM tags GROUP BY repository
            UNION ALL
            SELECT repository, 0 AS oldest FROM dangling_tags GROUP BY repository
        ) known
        GROUP BY repository ORDER BY MIN(oldest), repository
        """;

    private const string InventoryBeforeSql = """
        SELECT (SELECT COUNT(*) FROM manifests WHERE deleted_ms IS NULL)
             + (SELECT COUNT(*) FROM (SELECT DISTINCT repository, child_digest FROM manifest_references) blobs)
        """;

    private const string BrokenBeforeSql = """
        SELECT m.*, t.tag FROM manifests m LEFT JOIN tags t ON t.repository = m.repository AND t.digest = m.digest
        WHERE m.deleted_ms IS NULL AND m.result = 'broken' ORDER BY m.repository, m.digest
        """;

    private const string HistorySql = """
        SELECT result, checked_ms, missing_json, reasons_json, event_id FROM verdict_history
        WHERE repository = 'team1/app' AND digest = @digest ORDER BY id DESC LIMIT 50
        """;

    private const string ReplaySql = """
        SELECT event_id, message_type, repository, occurred_ms, source_instance_id, payload FROM processed_events
        WHERE occurred_ms >= @from AND occurred_ms < @to AND (@repository IS NULL OR repository = @repository)
        ORDER BY occurred_ms, event_id
        """;
}
