using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace RegistryIntegrity.Verifier.Store.Dapper;

public interface IDbConnectionFactory
{
    StoreProvider Provider { get; }
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="work"/> in a write transaction; it is committed when the returned task completes.</summary>
    Task InTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken);
}

public sealed class SqliteConnectionFactory : IDbConnectionFactory, IDisposable
{
    private readonly string _connectionString;
    private readonly SqliteGroupCommit _writes;

    public SqliteConnectionFactory(string connectionString)
    {
        _connectionString = new SqliteConnectionStringBuilder(connectionString)
        {
            DefaultTimeout = 30, // also how long a writer waits for the database lock
            Pooling = true,
        }.ToString();
        _writes = new SqliteGroupCommit(OpenAsync);
    }

    public StoreProvider Provider => StoreProvider.Sqlite;

    public Task InTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) =>
        _writes.RunAsync(work, cancellationToken);

    public void Dispose() => _writes.Dispose();

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        // busy_timeout: a writer of another process (a CLI verb beside the service) waits in SQLite's own busy
        // handler, not in Microsoft.Data.Sqlite's retry loop, which sleeps 150 ms per try.
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}

public sealed class NpgsqlConnectionFactory(NpgsqlDataSource dataSource) : IDbConnectionFactory
{
    public StoreProvider Provider => StoreProvider.Postgres;

    /// <summary>PostgreSQL runs write transactions side by side (rows lock, not the database): one each.</summary>
    public async Task InTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await dataSource.OpenConnectionAsync(cancellationToken);
}
