using Npgsql;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>One real PostgreSQL server for the whole test assembly; each test class gets its own database.</summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private LocalStack? _stack;

    public async Task InitializeAsync() => _stack = await LocalStack.StartAsync(StackServices.Postgres);

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    /// <summary>A fresh, migrated database.</summary>
    public async Task<IDbConnectionFactory> CreateDatabaseAsync()
    {
        var database = $"store_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(_stack!.PostgresConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(_stack.PostgresConnectionString) { Database = database }.ToString();
        var connections = new NpgsqlConnectionFactory(NpgsqlDataSource.Create(connectionString));
        await new DapperVerdictStore(connections, TimeProvider.System).MigrateAsync(CancellationToken.None);
        return connections;
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}

public static class SqliteStores
{
    /// <summary>A verdict store and the event log beside it, on a fresh database file.</summary>
    public static async Task<(IVerdictStore Verdicts, IEventLog Events)> CreateAsync()
    {
        var connections = await CreateDatabaseAsync();
        return (new DapperVerdictStore(connections, TimeProvider.System), new DapperEventLog(connections, TimeProvider.System));
    }

    /// <summary>A fresh, migrated database file.</summary>
    public static async Task<IDbConnectionFactory> CreateDatabaseAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"verifier-test-{Guid.NewGuid():N}.db");
        var connections = new SqliteConnectionFactory($"Data Source={path}");
        await new DapperVerdictStore(connections, TimeProvider.System).MigrateAsync(CancellationToken.None);
        return connections;
    }
}
