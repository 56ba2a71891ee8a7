using Npgsql;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Storage;
using RegistryIntegrity.Verifier.Storage.Dapper;

namespace RegistryIntegrity.Verifier.Tests.Storage;

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

    public async Task<IVerdictStore> CreateStoreAsync()
    {
        var database = $"store_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(_stack!.PostgresConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(_stack.PostgresConnectionString) { Database = database }.ToString();
        var store = new DapperVerdictStore(new NpgsqlConnectionFactory(NpgsqlDataSource.Create(connectionString)), TimeProvider.System);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}

public static class SqliteStores
{
    public static async Task<IVerdictStore> CreateAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"verifier-test-{Guid.NewGuid():N}.db");
        var store = new DapperVerdictStore(new SqliteConnectionFactory($"Data Source={path}"), TimeProvider.System);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}
