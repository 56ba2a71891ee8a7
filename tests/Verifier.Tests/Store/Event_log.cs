using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>The processed-event log against SQLite and a real PostgreSQL server (its writes beside a verdict: <see cref="Verdict_store"/>).</summary>
public abstract class Event_log
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    private async Task<IEventLog> CreateEventLogAsync() => new DapperEventLog(await CreateDatabaseAsync(), TimeProvider.System);

    [Fact]
    public async Task Stored_events_are_listed_by_time_range_and_repository_in_order()
    {
        var events = await CreateEventLogAsync();
        foreach (var (id, repository, minute) in new[] { ("e2", "a/app", 2), ("e1", "a/app", 1), ("e3", "b/app", 3), ("e9", "a/app", 9) })
            await events.RecordAsync(new ProcessedEvent(id, "ManifestPushed", repository, T0.AddMinutes(minute), null, "{}"), default);

        var all = await events.ListForReplayAsync(T0, T0.AddMinutes(5), null, default);
        Assert.Equal(["e1", "e2", "e3"], all.Select(e => e.EventId));
        var onlyA = await events.ListForReplayAsync(T0, T0.AddMinutes(10), "a/app", default);
        Assert.Equal(["e1", "e2", "e9"], onlyA.Select(e => e.EventId));
    }
}

public sealed class Event_log_on_SQLite : Event_log
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Event_log_on_PostgreSQL(PostgresServer server) : Event_log
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
