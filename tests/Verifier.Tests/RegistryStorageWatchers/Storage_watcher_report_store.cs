using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Verifier.RegistryStorageWatchers;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Tests.Store;

namespace RegistryIntegrity.Verifier.Tests.RegistryStorageWatchers;

/// <summary>The storage watchers' newest reports in the verdict store's database, on SQLite and PostgreSQL.</summary>
public abstract class Storage_watcher_report_store
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    private static StorageWatcherReport Watching(string watcher, DateTimeOffset since, DateTimeOffset sent) =>
        new(watcher, "watching", null, since, sent, Interval);

    private static StorageWatcherReport NotWatching(string watcher, string reason, DateTimeOffset since, DateTimeOffset sent) =>
        new(watcher, "not-watching", reason, since, sent, Interval);

    [Fact]
    public async Task Keeps_the_newest_report_of_each_watcher_whatever_order_they_arrive_in()
    {
        var store = new DapperStorageWatcherReportStore(await CreateDatabaseAsync(), new FakeTimeProvider(T0.AddHours(3)));
        var newer = NotWatching("node-a:/var/lib/registry", "the root is gone", T0.AddSeconds(40), T0.AddSeconds(40));

        Assert.True(await store.RecordAsync(Watching("node-a:/var/lib/registry", T0, T0.AddSeconds(30)), default));
        Assert.True(await store.RecordAsync(newer, default));
        // A heartbeat sent before the change, delivered after it (redelivery, a second queue consumer).
        Assert.False(await store.RecordAsync(Watching("node-a:/var/lib/registry", T0, T0.AddSeconds(35)), default));
        Assert.True(await store.RecordAsync(Watching("node-b:/srv/registry", T0, T0.AddSeconds(10)), default));

        var listed = await store.ListHeardSinceAsync(T0, default);
        Assert.Equal([newer, Watching("node-b:/srv/registry", T0, T0.AddSeconds(10))], listed);
    }

    [Fact]
    public async Task At_the_same_send_time_the_later_state_wins_and_the_same_report_twice_is_one_row()
    {
        var store = new DapperStorageWatcherReportStore(await CreateDatabaseAsync(), new FakeTimeProvider(T0.AddHours(3)));
        var heartbeat = NotWatching("node-a:/r", "limit", T0, T0.AddSeconds(60));
        var change = Watching("node-a:/r", T0.AddSeconds(60), T0.AddSeconds(60));

        await store.RecordAsync(heartbeat, default);
        await store.RecordAsync(change, default);
        await store.RecordAsync(heartbeat, default);
        await store.RecordAsync(change, default);

        Assert.Equal([change], await store.ListHeardSinceAsync(T0, default));
    }

    [Fact]
    public async Task Lists_only_the_watchers_heard_since_the_given_time()
    {
        var store = new DapperStorageWatcherReportStore(await CreateDatabaseAsync(), new FakeTimeProvider(T0.AddHours(3)));
        await store.RecordAsync(Watching("old:/r", T0, T0), default);
        await store.RecordAsync(Watching("recent:/r", T0, T0.AddHours(2)), default);

        Assert.Equal(["recent:/r"], (await store.ListHeardSinceAsync(T0.AddHours(1), default)).Select(r => r.Watcher));
        Assert.Empty(await store.ListHeardSinceAsync(T0.AddHours(3), default));
    }
}

public sealed class Storage_watcher_report_store_on_SQLite : Storage_watcher_report_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Storage_watcher_report_store_on_PostgreSQL(PostgresServer server) : Storage_watcher_report_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
