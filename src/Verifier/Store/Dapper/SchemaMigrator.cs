using Dapper;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>Applies the embedded SQL scripts of the provider (Store/Migrations/&lt;Provider&gt;/NNN_name.sql) that have not run yet.</summary>
internal static class SchemaMigrator
{
    public static async Task MigrateAsync(IDbConnectionFactory connections, TimeProvider time, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (connections.Provider == StoreProvider.Postgres)
        {
            // Several replicas may start at once: one migrates, the others wait and then find nothing to do.
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(7305019)", transaction: transaction);
        }
        await connection.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
            transaction: transaction);
        var applied = (await connection.QueryAsync<string>("SELECT version FROM schema_migrations", transaction: transaction)).ToHashSet();

        foreach (var (version, sql) in Scripts(connections.Provider).Where(s => !applied.Contains(s.Version)))
        {
            await connection.ExecuteAsync(sql, transaction: transaction);
            await connection.ExecuteAsync(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES (@version, @now)",
                new { version, now = time.GetUtcNow().ToUnixTimeMilliseconds() }, transaction);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private static IEnumerable<(string Version, string Sql)> Scripts(StoreProvider provider)
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var prefix = $"{assembly.GetName().Name}.Store.Migrations.{provider}.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            yield return (name[prefix.Length..^".sql".Length], reader.ReadToEnd());
        }
    }
}
