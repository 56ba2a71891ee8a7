using System.Data.Common;
using System.Threading.Channels;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>
/// SQLite has one writer at a time, so concurrent write transactions (16 walks of a sweep at once) only queue
/// for its lock, and each pays its own BEGIN, COMMIT and page writes. Here they queue in the process instead
/// and run back to back in one transaction, each inside a savepoint of its own: a unit that fails is rolled
/// back alone and its caller gets the exception; the others commit together. One unit alone is one transaction,
/// as before. Measured in benchmarks/fsck (README: Storage scan).
/// </summary>
internal sealed class SqliteGroupCommit(Func<CancellationToken, Task<DbConnection>> open, int maxUnitsPerTransaction = 64) : IDisposable
{
    private sealed record Unit(Func<DbConnection, DbTransaction, Task> Work, CancellationToken CancellationToken)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Channel<Unit> _units = Channel.CreateUnbounded<Unit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private Task? _writer;

    public Task RunAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var unit = new Unit(work, cancellationToken);
        if (!_units.Writer.TryWrite(unit))
            throw new ObjectDisposedException(nameof(SqliteGroupCommit));
        lock (_lock)
            _writer ??= Task.Run(WriteAsync, CancellationToken.None);
        return unit.Done.Task;
    }

    public void Dispose() => _units.Writer.TryComplete();

    private async Task WriteAsync()
    {
        var batch = new List<Unit>(maxUnitsPerTransaction);
        while (await _units.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < maxUnitsPerTransaction && _units.Reader.TryRead(out var unit))
            {
                // A caller that gave up before its turn gets its cancellation, and nothing of it is written.
                if (unit.CancellationToken.IsCancellationRequested)
                    unit.Done.TrySetCanceled(unit.CancellationToken);
                else
                    batch.Add(unit);
            }
            if (batch.Count > 0)
                await CommitAsync(batch);
        }
    }

    private async Task CommitAsync(List<Unit> batch)
    {
        var succeeded = new List<Unit>(batch.Count);
        try
        {
            await using var connection = await open(CancellationToken.None);
            await using var transaction = await connection.BeginTransactionAsync();
            foreach (var unit in batch)
            {
                if (batch.Count == 1)
                {
                    await unit.Work(connection, transaction);
                    succeeded.Add(unit);
                    continue;
                }
                await transaction.SaveAsync("unit");
                try
                {
                    await unit.Work(connection, transaction);
                    await transaction.ReleaseAsync("unit");
                    succeeded.Add(unit);
                }
                catch (Exception e)
                {
                    await transaction.RollbackAsync("unit"); // to the savepoint, which stays open until released
                    await transaction.ReleaseAsync("unit");
                    unit.Done.TrySetException(e);
                }
            }
            await transaction.CommitAsync();
        }
        catch (Exception e)
        {
            // Nothing of this transaction was written: every unit not already failed gets the reason.
            foreach (var unit in batch)
                unit.Done.TrySetException(e);
            return;
        }
        foreach (var unit in succeeded)
            unit.Done.TrySetResult();
    }
}
