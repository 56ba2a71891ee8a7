using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>Every sweep store test runs against SQLite and a real PostgreSQL server.</summary>
public abstract class Sweep_store
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    private async Task<(IVerdictStore Verdicts, ISweepStore Sweeps)> CreateStoresAsync()
    {
        var connections = await CreateDatabaseAsync();
        return (new DapperVerdictStore(connections, TimeProvider.System), new DapperSweepStore(connections));
    }

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private static WalkResult Healthy(string repository, string digest, params Edge[] edges) => new(
        repository, digest, ManifestMediaTypes.OciManifest, VerdictResult.Healthy, [], [], edges,
        new Dictionary<string, string?> { [digest] = ManifestMediaTypes.OciManifest }, new Dictionary<string, string>());

    [Fact]
    public async Task A_sweep_completes_when_its_last_repository_is_done_whichever_finishes_first()
    {
        var (_, sweeps) = await CreateStoresAsync();
        var early = Guid.NewGuid();
        await sweeps.StartSweepAsync(early, "api", T0, default);
        await sweeps.RepositoryDoneAsync(early, 3, 2, T0.AddSeconds(1), default);
        Assert.Equal("enumerating", (await sweeps.GetSweepAsync(early, default))!.Status);
        var afterEnumeration = await sweeps.SetEnumeratedAsync(early, 1, T0.AddSeconds(2), default);
        Assert.Equal("completed", afterEnumeration.Status);
        Assert.Equal(T0.AddSeconds(2), afterEnumeration.CompletedAt);

        var late = Guid.NewGuid();
        await sweeps.StartSweepAsync(late, "schedule", T0.AddMinutes(1), default);
        await sweeps.SetEnumeratedAsync(late, 2, T0.AddMinutes(1), default);
        Assert.Equal("running", (await sweeps.RepositoryDoneAsync(late, 1, 1, T0.AddMinutes(2), default)).Status);
        var done = await sweeps.RepositoryDoneAsync(late, 4, 5, T0.AddMinutes(3), default);
        Assert.Equal(("completed", 5, 6), (done.Status, done.ManifestsChecked, done.TagsSeen));

        Assert.Equal(late, (await sweeps.GetLatestSweepAsync(completedOnly: true, default))!.Id);
    }

    [Fact]
    public async Task A_sweep_whose_catalog_was_inaccessible_is_failed_and_never_completed()
    {
        var (_, sweeps) = await CreateStoresAsync();
        var id = Guid.NewGuid();
        await sweeps.StartSweepAsync(id, "api", T0, default);
        await sweeps.FailSweepAsync(id, "catalog inaccessible: unauthorized", T0.AddSeconds(1), default);

        var failed = (await sweeps.GetSweepAsync(id, default))!;
        Assert.Equal("failed", failed.Status);
        Assert.Null(failed.CompletedAt);
        Assert.Null(await sweeps.GetLatestSweepAsync(completedOnly: true, default));
        Assert.Equal(id, (await sweeps.GetLatestSweepAsync(completedOnly: false, default))!.Id);
    }

    [Fact]
    public async Task Reconciling_tags_removes_vanished_tags_and_moves_the_others()
    {
        var (verdicts, sweeps) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(Healthy("team/app", Digest('a')), T0, "v1", null, default);
        await verdicts.SaveWalkAsync(Healthy("team/app", Digest('a')), T0, "gone", null, default);
        await verdicts.SaveWalkAsync(Healthy("team/app", Digest('b')), T0, null, null, default);

        Assert.True(await sweeps.ReconcileTagsAsync("team/app", new Dictionary<string, string> { ["v1"] = Digest('b'), ["new"] = Digest('a') }, [], T0, default));

        Assert.Equal(["new"], (await verdicts.GetManifestAsync("team/app", Digest('a'), default))!.Tags);
        Assert.Equal(["v1"], (await verdicts.GetManifestAsync("team/app", Digest('b'), default))!.Tags);
    }

    [Fact]
    public async Task An_older_tag_listing_never_undoes_a_newer_one()
    {
        var (verdicts, sweeps) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(Healthy("team/app", Digest('a')), T0, "old", null, default);
        Assert.True(await sweeps.ReconcileTagsAsync("team/app", new Dictionary<string, string>(), [], T0.AddMinutes(2), default));

        Assert.False(await sweeps.ReconcileTagsAsync("team/app", new Dictionary<string, string> { ["old"] = Digest('a') }, [], T0.AddMinutes(1), default));
        Assert.Empty((await verdicts.GetManifestAsync("team/app", Digest('a'), default))!.Tags);
    }

    [Fact]
    public async Task Known_repositories_come_least_recently_verified_first_and_deleted_manifests_drop_out()
    {
        var (verdicts, sweeps) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(Healthy("recent/app", Digest('r')), T0.AddHours(1), null, null, default);
        await verdicts.SaveWalkAsync(Healthy("old/app", Digest('o')), T0, null, null, default);
        await verdicts.SaveWalkAsync(Healthy("deleted/app", Digest('d')), T0, null, null, default);
        await verdicts.MarkDeletedAsync("deleted/app", Digest('d'), T0, null, default);

        Assert.Equal(["old/app", "recent/app"], await sweeps.ListRepositoriesAsync(default));
        Assert.Equal([Digest('o')], await sweeps.ListVerifiedManifestsAsync("old/app", default));
        Assert.Empty(await sweeps.ListVerifiedManifestsAsync("deleted/app", default));
    }

    [Fact]
    public async Task A_registry_instance_is_new_only_the_first_time()
    {
        var (_, sweeps) = await CreateStoresAsync();
        Assert.True(await sweeps.RecordInstanceAsync("instance-1", T0, default));
        Assert.False(await sweeps.RecordInstanceAsync("instance-1", T0, default));
        Assert.True(await sweeps.RecordInstanceAsync("instance-2", T0, default));
    }

    [Fact]
    public async Task The_inventory_counts_live_manifests_and_distinct_referenced_objects()
    {
        var (verdicts, sweeps) = await CreateStoresAsync();
        var shared = new Edge(Digest('a'), Digest('l'), ReferenceKind.Layer);
        await verdicts.SaveWalkAsync(Healthy("team/app", Digest('a'), shared, new Edge(Digest('a'), Digest('c'), ReferenceKind.Config)), T0, null, null, default);
        await verdicts.SaveWalkAsync(Healthy("team/app", Digest('b'), new Edge(Digest('b'), Digest('l'), ReferenceKind.Layer)), T0, null, null, default);

        Assert.Equal(2 + 2, await sweeps.CountInventoryAsync(default));
    }
}

public sealed class Sweep_store_on_SQLite : Sweep_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Sweep_store_on_PostgreSQL(PostgresServer server) : Sweep_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
