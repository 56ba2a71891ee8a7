using System.Data.Common;
using Dapper;
using RegistryIntegrity.Verifier.Store.Dapper;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>
/// Write transactions that arrive together (a sweep's walks) are each all or nothing, whatever the others do.
/// On SQLite they queue and commit together (<c>SqliteGroupCommit</c>): the first transaction below holds the
/// writer, so the next three meet in one group; on PostgreSQL each runs in its own.
/// </summary>
public abstract class Writing_side_by_side
{
    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    protected static Func<DbConnection, DbTransaction, Task> Insert(string name, Func<Task>? before = null, bool thenFail = false) =>
        async (connection, transaction) =>
        {
            if (before is not null)
                await before();
            await connection.ExecuteAsync("INSERT INTO written_side_by_side (name) VALUES (@name)", new { name }, transaction);
            if (thenFail)
                throw new InvalidOperationException($"{name} failed after writing");
        };

    protected static async Task<IReadOnlyList<string>> WrittenAsync(IDbConnectionFactory connections)
    {
        await using var connection = await connections.OpenAsync(default);
        return (await connection.QueryAsync<string>("SELECT name FROM written_side_by_side ORDER BY name")).ToList();
    }

    /// <summary>Starts a transaction writing <paramref name="name"/> that waits, once inside, until released.</summary>
    protected static async Task<(Task Transaction, TaskCompletionSource Release)> HoldTheWriterAsync(IDbConnectionFactory connections, string name)
    {
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var transaction = connections.InTransactionAsync(Insert(name, async () => { holding.SetResult(); await release.Task; }), default);
        await holding.Task;
        return (transaction, release);
    }

    protected static async Task<IDbConnectionFactory> WithTableAsync(IDbConnectionFactory connections)
    {
        await using var connection = await connections.OpenAsync(default);
        await connection.ExecuteAsync("CREATE TABLE written_side_by_side (name TEXT PRIMARY KEY)");
        return connections;
    }

    [Fact]
    public async Task A_transaction_that_fails_is_rolled_back_alone_and_the_others_commit()
    {
        var connections = await WithTableAsync(await CreateDatabaseAsync());
        var (first, release) = await HoldTheWriterAsync(connections, "a");

        var second = connections.InTransactionAsync(Insert("b"), default);
        var failing = connections.InTransactionAsync(Insert("c", thenFail: true), default);
        var fourth = connections.InTransactionAsync(Insert("d"), default);
        release.SetResult();

        await first;
        await second;
        await fourth;
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal("c failed after writing", failure.Message);
        Assert.Equal(["a", "b", "d"], await WrittenAsync(connections));
    }

    [Fact]
    public async Task A_transaction_that_breaks_a_constraint_fails_without_taking_the_others_with_it()
    {
        var connections = await WithTableAsync(await CreateDatabaseAsync());
        await connections.InTransactionAsync(Insert("taken"), default);
        var (first, release) = await HoldTheWriterAsync(connections, "a");

        var duplicate = connections.InTransactionAsync(Insert("taken"), default);
        var after = connections.InTransactionAsync(Insert("e"), default);
        release.SetResult();

        await first;
        await after;
        await Assert.ThrowsAnyAsync<DbException>(() => duplicate);
        Assert.Equal(["a", "e", "taken"], await WrittenAsync(connections));
    }
}

public sealed class Writing_side_by_side_on_SQLite : Writing_side_by_side
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();

    [Fact]
    public async Task A_transaction_cancelled_while_it_waits_for_the_writer_writes_nothing()
    {
        var connections = await WithTableAsync(await CreateDatabaseAsync());
        var (first, release) = await HoldTheWriterAsync(connections, "a");

        using var cancel = new CancellationTokenSource();
        var waiting = connections.InTransactionAsync(Insert("cancelled"), cancel.Token);
        cancel.Cancel();
        release.SetResult();

        await first;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(["a"], await WrittenAsync(connections));
    }
}

[Collection(PostgresCollection.Name)]
public sealed class Writing_side_by_side_on_PostgreSQL(PostgresServer server) : Writing_side_by_side
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
