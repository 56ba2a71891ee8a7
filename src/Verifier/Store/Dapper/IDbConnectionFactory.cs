using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace RegistryIntegrity.Verifier.Store.Dapper;

public interface IDbConnectionFactory
{
    StoreProvider Provider { get; }
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);
}

public sealed class SqliteConnectionFactory(string connectionString) : IDbConnectionFactory
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder(connectionString)
    {
        DefaultTimeout = 30, // also how long a writer waits for the database lock
        Pooling = true,
    }.ToString();

    public StoreProvider Provider => StoreProvider.Sqlite;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}

public sealed class NpgsqlConnectionFactory(NpgsqlDataSource dataSource) : IDbConnectionFactory
{
    public StoreProvider Provider => StoreProvider.Postgres;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await dataSource.OpenConnectionAsync(cancellationToken);
}
