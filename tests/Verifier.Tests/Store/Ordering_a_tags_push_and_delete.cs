using Dapper;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.RegistryStorageRemovals;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>
/// A tag's push and delete, delivered in the worst order (competing consumers, redeliveries, the storage watcher
/// ahead of the events): the registry's event times decide, never the order they are processed in.
/// Every case runs on SQLite and on a real PostgreSQL server.
/// </summary>
public abstract class Ordering_a_tags_push_and_delete
{
    private const string Repo = "team/app";
    private static readonly string Index = Digest('i'), Other = Digest('o');
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T1 = T0.AddMinutes(1), T2 = T0.AddMinutes(2), T3 = T0.AddMinutes(3), T4 = T0.AddMinutes(4);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private static WalkResult Healthy(string digest) => new(
        Repo, digest, ManifestMediaTypes.OciManifest, VerdictResult.Healthy, [], [], [],
        new Dictionary<string, string?> { [digest] = ManifestMediaTypes.OciManifest }, new Dictionary<string, string>());

    private static ProcessedEvent Push(DateTimeOffset occurredAt) =>
        new(Guid.NewGuid().ToString(), "ManifestPushed", Repo, occurredAt, "instance-1", "{}");

    private async Task<(IVerdictStore Verdicts, ISweepStore Sweeps, RegistryStorageRemovalStore Removals)> CreateStoresAsync()
    {
        var connections = await CreateDatabaseAsync();
        return (new DapperVerdictStore(connections, TimeProvider.System), new DapperSweepStore(connections), new RegistryStorageRemovalStore(connections, TimeProvider.System));
    }

    [Fact]
    public async Task A_push_event_processed_after_the_tags_deletion_does_not_bring_the_tag_back()
    {
        var (verdicts, _, _) = await CreateStoresAsync();
        await verdicts.DeleteTagAsync(Repo, "v1", T2, null, default);

        // The push of v1 (t1), redelivered, walked at t3: its verdict is stored, the tag stays deleted.
        Assert.True(await verdicts.SaveWalkAsync(Healthy(Index), T3, "v1", Push(T1), default));

        Assert.Null(await verdicts.ResolveTagAsync(Repo, "v1", default));
        var manifest = (await verdicts.GetManifestAsync(Repo, Index, default))!;
        Assert.Equal(("healthy", 0), (manifest.Result, manifest.Tags.Count));
        Assert.Empty(Assert.Single(await verdicts.ListManifestsAsync(Repo, null, 10, default)).Tags);
    }

    [Fact]
    public async Task A_tag_pushed_again_after_its_deletion_comes_back_and_a_late_copy_of_that_deletion_does_not_remove_it()
    {
        var (verdicts, _, _) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(Healthy(Index), T1, "v1", Push(T0), default);
        await verdicts.DeleteTagAsync(Repo, "v1", T2, null, default);

        await verdicts.SaveWalkAsync(Healthy(Other), T3, "v1", Push(T3), default);
        Assert.Equal(Other, await verdicts.ResolveTagAsync(Repo, "v1", default));

        // The deletion delivered again, and the first push again: both older than the re-push.
        await verdicts.DeleteTagAsync(Repo, "v1", T2, null, default);
        await verdicts.SaveWalkAsync(Healthy(Index), T4, "v1", Push(T0), default);
        Assert.Equal(Other, await verdicts.ResolveTagAsync(Repo, "v1", default));
        Assert.Equal(["v1"], (await verdicts.GetManifestAsync(Repo, Other, default))!.Tags);
        Assert.Empty((await verdicts.GetManifestAsync(Repo, Index, default))!.Tags);
    }

    [Fact]
    public async Task A_push_and_a_delete_of_one_tag_processed_at_once_end_as_their_event_times_say()
    {
        var (verdicts, _, _) = await CreateStoresAsync();
        // Competing consumers: the two transactions race; whichever commits first, the newer event decides.
        async Task<string?> RaceAsync(string tag, DateTimeOffset pushedAt)
        {
            await Task.WhenAll(
                verdicts.DeleteTagAsync(Repo, tag, T2, null, default),
                verdicts.SaveWalkAsync(Healthy(Index), T3, tag, Push(pushedAt), default));
            return await verdicts.ResolveTagAsync(Repo, tag, default);
        }

        for (var round = 0; round < 10; round++)
        {
            Assert.Null(await RaceAsync($"late-push-{round}", T1));
            Assert.Equal(Index, await RaceAsync($"late-delete-{round}", T3));
        }
    }

    [Fact]
    public async Task A_tags_tombstone_is_kept_for_a_day_like_a_digests_changes()
    {
        var connections = await CreateDatabaseAsync();
        var verdicts = new DapperVerdictStore(connections, TimeProvider.System);
        await verdicts.DeleteTagAsync(Repo, "old", T0, null, default);
        await verdicts.DeleteTagAsync(Repo, "recent", T0.AddHours(23), null, default);

        await verdicts.DeleteTagAsync(Repo, "v1", T0.AddDays(1).AddMinutes(1), null, default);

        await using var connection = await connections.OpenAsync(default);
        Assert.Equal(["recent", "v1"], await connection.QueryAsync<string>("SELECT tag FROM tag_changes ORDER BY tag"));
    }

    [Fact]
    public async Task A_storage_removal_seen_before_the_push_event_keeps_the_tag_deleted_and_learns_its_digest_from_the_push()
    {
        var (verdicts, _, removals) = await CreateStoresAsync();
        // The watcher saw v1's directory go at t2; the push of v1 (t1) was not processed yet, so no digest was known.
        await removals.RecordTagRemovalsAsync([new TagRemoval(Repo, "v1", null, T2)], default);
        await verdicts.DeleteTagAsync(Repo, "v1", T2, null, default);
        Assert.Null(Assert.Single(await removals.ListTagRemovalsAsync(T0, 10, default)).Digest);

        await verdicts.SaveWalkAsync(Healthy(Index), T3, "v1", Push(T1), default);
        // An even older push of v1 processed last: the tag held what the newest push before the removal put there.
        await verdicts.SaveWalkAsync(Healthy(Other), T4, "v1", Push(T0), default);

        Assert.Null(await verdicts.ResolveTagAsync(Repo, "v1", default));
        var removal = Assert.Single(await removals.ListTagRemovalsAsync(T0, 10, default));
        Assert.Equal(("v1", Index, T2), (removal.Tag, removal.Digest, removal.RemovedAt));
    }

    [Fact]
    public async Task A_push_after_a_storage_removal_does_not_name_the_removed_tags_digest()
    {
        var (verdicts, _, removals) = await CreateStoresAsync();
        await removals.RecordTagRemovalsAsync([new TagRemoval(Repo, "v1", null, T2)], default);
        await verdicts.DeleteTagAsync(Repo, "v1", T2, null, default);

        await verdicts.SaveWalkAsync(Healthy(Other), T3, "v1", Push(T3), default);

        Assert.Equal(Other, await verdicts.ResolveTagAsync(Repo, "v1", default));
        Assert.Null(Assert.Single(await removals.ListTagRemovalsAsync(T0, 10, default)).Digest);
    }

    [Fact]
    public async Task A_tag_listing_older_than_the_deletion_does_not_bring_the_tag_back_nor_call_it_dangling()
    {
        var (verdicts, sweeps, _) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(Healthy(Index), T0, "v1", Push(T0), default);
        await verdicts.DeleteTagAsync(Repo, "v1", T2, null, default);

        // Sweeps listed v1 at t1 (once resolving, once dangling) and reconcile after the delete was processed.
        Assert.True(await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string> { ["v1"] = Index }, [], T1, default));
        Assert.Null(await verdicts.ResolveTagAsync(Repo, "v1", default));
        Assert.True(await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string>(), ["v1"], T1.AddSeconds(1), default));
        Assert.Empty(await verdicts.ListDanglingTagsAsync(default));
        Assert.Null(await verdicts.ResolveTagAsync(Repo, "v1", default));
    }

    [Fact]
    public async Task A_tag_listing_newer_than_the_deletion_brings_the_re_pushed_tag_back()
    {
        var (verdicts, sweeps, _) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(Healthy(Index), T0, "v1", Push(T0), default);
        await verdicts.DeleteTagAsync(Repo, "v1", T1, null, default);

        // Re-pushed at t2 with its event lost (a registry restart): the listing at t3 is the only news.
        Assert.True(await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string> { ["v1"] = Index }, [], T3, default));

        Assert.Equal(Index, await verdicts.ResolveTagAsync(Repo, "v1", default));
    }
}

public sealed class Ordering_a_tags_push_and_delete_on_SQLite : Ordering_a_tags_push_and_delete
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Ordering_a_tags_push_and_delete_on_PostgreSQL(PostgresServer server) : Ordering_a_tags_push_and_delete
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
