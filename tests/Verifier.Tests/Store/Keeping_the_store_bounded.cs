using Dapper;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.RegistryStorageRemovals;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store.Retention;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>Retention, pages and counts: every test runs against SQLite and a real PostgreSQL server.</summary>
public abstract class Keeping_the_store_bounded
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    private IEventLog _events = null!;

    private async Task<(IDbConnectionFactory Connections, IVerdictStore Verdicts, ISweepStore Sweeps, IStoreRetention Retention)> CreateAsync()
    {
        var connections = await CreateDatabaseAsync();
        _events = new DapperEventLog(connections, TimeProvider.System);
        return (connections, new DapperVerdictStore(connections, TimeProvider.System), new DapperSweepStore(connections), new DapperStoreRetention(connections, _events));
    }

    private static string Digest(int n) => "sha256:" + n.ToString("x64", System.Globalization.CultureInfo.InvariantCulture);

    private static WalkResult Walk(string repository, string digest, VerdictResult result, params Edge[] edges) => new(
        repository, digest, ManifestMediaTypes.OciManifest, result,
        result == VerdictResult.Broken ? [new MissingObject("layer", Digest(9999), [digest], 404, "BLOB_UNKNOWN")] : [],
        [], edges, new Dictionary<string, string?> { [digest] = ManifestMediaTypes.OciManifest }, new Dictionary<string, string>());

    private static ProcessedEvent Event(string id, DateTimeOffset at) => new(id, "ManifestPushed", "team/app", at, "instance-1", "{}");

    private static RetentionCutOffs AllBefore(DateTimeOffset cutOff) => new(cutOff, cutOff, cutOff, cutOff);

    private static async Task<long> CountAsync(IDbConnectionFactory connections, string table)
    {
        await using var connection = await connections.OpenAsync(default);
        return await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table}");
    }

    [Fact]
    public async Task Broken_manifests_come_in_pages_in_key_order_each_with_its_own_tags()
    {
        var (_, store, _, _) = await CreateAsync();
        foreach (var (repository, n) in new[] { ("b/app", 3), ("a/app", 2), ("a/app", 1), ("b/app", 4), ("a/app", 5) })
            await store.SaveWalkAsync(Walk(repository, Digest(n), VerdictResult.Broken), T0, $"t{n}", null, default);
        await store.SaveWalkAsync(Walk("a/app", Digest(6), VerdictResult.Healthy), T0, "healthy", null, default);

        var first = await store.ListBrokenAsync(null, 2, default);
        var second = await store.ListBrokenAsync(new PageKey(first[^1].Repository, first[^1].Digest), 2, default);
        var third = await store.ListBrokenAsync(new PageKey(second[^1].Repository, second[^1].Digest), 2, default);

        Assert.Equal(
            [("a/app", Digest(1)), ("a/app", Digest(2)), ("a/app", Digest(5)), ("b/app", Digest(3)), ("b/app", Digest(4))],
            first.Concat(second).Concat(third).Select(m => (m.Repository, m.Digest)));
        Assert.All(first.Concat(second).Concat(third), m => Assert.Equal([$"t{Convert.ToInt32(m.Digest[^4..], 16)}"], m.Tags));
        Assert.Single(third);
    }

    [Fact]
    public async Task Dangling_tags_and_a_repositorys_manifests_come_in_pages_and_a_tag_resolves_to_its_manifest()
    {
        var (_, store, sweeps, _) = await CreateAsync();
        await sweeps.ReconcileTagsAsync("a/app", new Dictionary<string, string>(), ["z", "x", "y"], T0, default);
        for (var n = 1; n <= 5; n++)
            await store.SaveWalkAsync(Walk("a/app", Digest(n), VerdictResult.Healthy), T0, $"v{n}", null, default);
        await store.SaveWalkAsync(Walk("b/app", Digest(7), VerdictResult.Healthy), T0, "v7", null, default);
        await store.MarkDeletedAsync("a/app", Digest(3), T0.AddMinutes(1), null, default);

        var tags = await store.ListDanglingTagsAsync(null, 2, default);
        var rest = await store.ListDanglingTagsAsync(new PageKey("a/app", tags[^1].Tag), 2, default);
        Assert.Equal(["x", "y", "z"], tags.Concat(rest).Select(t => t.Tag));

        var page = await store.ListManifestsAsync("a/app", null, 2, default);
        var next = await store.ListManifestsAsync("a/app", page[^1].Digest, 10, default);
        Assert.Equal([Digest(1), Digest(2), Digest(4), Digest(5)], page.Concat(next).Select(m => m.Digest));
        Assert.Equal(["v4"], next[0].Tags);

        Assert.Equal(Digest(5), await store.ResolveTagAsync("a/app", "v5", default));
        Assert.Null(await store.ResolveTagAsync("a/app", "v7", default));
        Assert.Equal(2, await sweeps.CountRepositoriesAsync(default));
    }

    [Fact]
    public async Task Pruning_removes_only_what_is_older_than_each_retention_period()
    {
        var (connections, store, sweeps, retention) = await CreateAsync();
        var old = T0.AddDays(-40);
        await store.SaveWalkAsync(Walk("team/app", Digest(1), VerdictResult.Healthy), old, "v1", Event("old", old), default);
        await store.SaveWalkAsync(Walk("team/app", Digest(1), VerdictResult.Healthy), T0, "v1", Event("new", T0), default);
        var oldSweep = Guid.NewGuid();
        await sweeps.StartSweepAsync(oldSweep, "schedule", old, default);
        await sweeps.SetEnumeratedAsync(oldSweep, 0, old, default);
        var staleSweep = Guid.NewGuid();
        await sweeps.StartSweepAsync(staleSweep, "schedule", old.AddDays(1), default);
        var newSweep = Guid.NewGuid();
        await sweeps.StartSweepAsync(newSweep, "api", T0, default);
        var removals = new RegistryStorageRemovalStore(connections, TimeProvider.System);
        await removals.RecordTagRemovalsAsync([new TagRemoval("team/app", "old", null, old), new TagRemoval("team/app", "new", null, T0)], default);

        var pruned = await retention.PruneAsync(AllBefore(T0.AddDays(-30)), 100, default);

        Assert.Equal((1, 1, 0, 0, 1, 1), (pruned.VerdictHistory, pruned.ProcessedEvents, pruned.DeletedManifests, pruned.References, pruned.Sweeps, pruned.StorageTagRemovals));
        Assert.Equal(["new"], (await removals.ListTagRemovalsAsync(DateTimeOffset.MinValue, 10, default)).Select(r => r.Tag));
        Assert.False(await _events.IsProcessedAsync("old", default));
        Assert.True(await _events.IsProcessedAsync("new", default));
        Assert.Single(await store.GetHistoryAsync("team/app", Digest(1), 10, default));
        Assert.Equal("healthy", (await store.GetManifestAsync("team/app", Digest(1), default))!.Result);
        // The old sweep is the last one that completed: /v1/status and the metrics still show it.
        Assert.Equal(oldSweep, (await sweeps.GetLatestSweepAsync(completedOnly: true, default))!.Id);
        Assert.Null(await sweeps.GetSweepAsync(staleSweep, default));
        Assert.Equal(2, await CountAsync(connections, "sweeps"));
    }

    [Fact]
    public async Task A_manifest_deleted_long_ago_goes_with_its_references_and_history_and_one_pushed_again_stays()
    {
        var (connections, store, sweeps, retention) = await CreateAsync();
        var old = T0.AddDays(-10);
        var layer = Digest(100);
        foreach (var n in new[] { 1, 2, 3 })
            await store.SaveWalkAsync(Walk("team/app", Digest(n), VerdictResult.Healthy, new Edge(Digest(n), layer, ReferenceKind.Layer), new Edge(Digest(n), Digest(200 + n), ReferenceKind.Config)), old, null, null, default);
        await store.MarkDeletedAsync("team/app", Digest(1), old.AddMinutes(1), null, default);
        await store.MarkDeletedAsync("team/app", Digest(2), old.AddMinutes(1), null, default);
        await store.MarkDeletedAsync("team/app", Digest(3), T0.AddDays(-1), null, default);
        // Deleted, then pushed and walked again: live.
        await store.SaveWalkAsync(Walk("team/app", Digest(2), VerdictResult.Healthy, new Edge(Digest(2), layer, ReferenceKind.Layer)), old.AddMinutes(2), null, null, default);
        var inventoryBefore = await sweeps.CountInventoryAsync(default);

        var pruned = await retention.PruneAsync(new RetentionCutOffs(null, null, T0.AddDays(-7), null), 100, default);

        Assert.Equal((1, 2), (pruned.DeletedManifests, pruned.References));
        Assert.Null(await store.GetManifestAsync("team/app", Digest(1), default));
        Assert.Empty(await store.GetHistoryAsync("team/app", Digest(1), 10, default));
        Assert.NotNull(await store.GetManifestAsync("team/app", Digest(2), default));
        Assert.NotNull(await store.GetManifestAsync("team/app", Digest(3), default));
        Assert.Equal([Digest(2)], await store.FindReferrersAsync("team/app", layer, default));
        // The references of the live manifest and of the one deleted a day ago stay.
        Assert.Equal(2 + 2, await CountAsync(connections, "manifest_references"));
        // The sweep cycle counts the references of deleted manifests until retention prunes them: one live manifest, and
        // the layer and three configs before, the layer and the two configs of the manifests still kept after.
        Assert.Equal(1 + 4, inventoryBefore);
        Assert.Equal(1 + 3, await sweeps.CountInventoryAsync(default));
    }

    [Fact]
    public async Task Pruning_in_small_batches_removes_a_backlog_larger_than_one_batch_and_zero_keeps_everything()
    {
        var (connections, store, _, retention) = await CreateAsync();
        for (var n = 0; n < 250; n++)
            await _events.RecordAsync(Event($"e{n}", T0.AddDays(-60).AddSeconds(n)), default);

        var kept = await retention.PruneAsync(new RetentionCutOffs(null, null, null, null), 100, default);
        var pruned = await retention.PruneAsync(AllBefore(T0), 100, default);

        Assert.Equal(0, kept.Total);
        Assert.Equal(250, pruned.ProcessedEvents);
        Assert.Equal(0, await CountAsync(connections, "processed_events"));
    }

    [Fact]
    public async Task A_deleted_manifest_pushed_again_is_swept_even_when_its_push_walk_could_not_reach_the_registry()
    {
        var (_, store, sweeps, _) = await CreateAsync();
        foreach (var n in new[] { 1, 2 })
        {
            await store.SaveWalkAsync(Walk("team/app", Digest(n), VerdictResult.Healthy), T0, null, null, default);
            await store.MarkDeletedAsync("team/app", Digest(n), T0.AddMinutes(1), null, default);
        }
        // Pushed again by digest (untagged); the walk of its push event was indeterminate, so it is still marked deleted.
        await store.RecordPushAsync("team/app", Digest(2), T0.AddMinutes(2), default);

        Assert.Equal([Digest(2)], await sweeps.ListVerifiedManifestsAsync("team/app", default));
    }
}

public sealed class Keeping_the_store_bounded_on_SQLite : Keeping_the_store_bounded
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Keeping_the_store_bounded_on_PostgreSQL(PostgresServer server) : Keeping_the_store_bounded
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
