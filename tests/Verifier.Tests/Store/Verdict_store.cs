using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>Every store test runs against each provider: SQLite (embedded default) and a real PostgreSQL server.</summary>
public abstract class Verdict_store
{
    private const string Repo = "team/app";
    private static readonly string Index = Digest('i'), ChildA = Digest('a'), ChildB = Digest('b'), Layer = Digest('l'), Config = Digest('c');
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    /// <summary>The event log of the database <see cref="CreateStoreAsync"/> made: a verdict and its event are written together.</summary>
    private IEventLog _events = null!;

    private async Task<IVerdictStore> CreateStoreAsync()
    {
        var connections = await CreateDatabaseAsync();
        _events = new DapperEventLog(connections, TimeProvider.System);
        return new DapperVerdictStore(connections, TimeProvider.System);
    }

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private static WalkResult IndexWalk(VerdictResult result, params MissingObject[] missing) => new(
        Repo, Index, ManifestMediaTypes.OciIndex, result, missing, result == VerdictResult.Indeterminate ? ["registry error"] : [],
        [
            new Edge(Index, ChildA, ReferenceKind.ChildManifest), new Edge(Index, ChildB, ReferenceKind.ChildManifest),
            new Edge(ChildA, Config, ReferenceKind.Config), new Edge(ChildA, Layer, ReferenceKind.Layer),
        ],
        new Dictionary<string, string?> { [Index] = ManifestMediaTypes.OciIndex, [ChildA] = ManifestMediaTypes.OciManifest },
        new Dictionary<string, string>());

    private static ProcessedEvent Event(string id) => new(id, "ManifestPushed", Repo, T0, "instance-1", "{}");

    [Fact]
    public async Task Saving_a_walk_keeps_the_verdict_the_tag_the_graph_and_the_event()
    {
        var store = await CreateStoreAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, "latest", Event("e1"), default);

        var manifest = await store.GetManifestAsync(Repo, Index, default);
        Assert.NotNull(manifest);
        Assert.Equal("healthy", manifest.Result);
        Assert.Equal(["latest"], manifest.Tags);
        Assert.Equal(T0, manifest.CheckedAt);
        Assert.True(await _events.IsProcessedAsync("e1", default));
        Assert.False(await _events.IsProcessedAsync("e2", default));
        Assert.Equal([Index], await store.FindReferrersAsync(Repo, ChildA, default));
        Assert.Equal([ChildA], await store.FindReferrersAsync(Repo, Layer, default));
        Assert.Empty(await store.FindReferrersAsync("other/repo", ChildA, default));
    }

    [Fact]
    public async Task A_broken_verdict_is_counted_and_listed_with_what_is_missing_until_it_heals()
    {
        var store = await CreateStoreAsync();
        var missing = new MissingObject("child-manifest", ChildB, [Index], 404, "MANIFEST_UNKNOWN");
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, missing), T0, "latest", null, default);

        Assert.Equal(new VerdictCounts(1, 0, 0, 1), await store.CountVerdictsAsync(default));
        var broken = Assert.Single(await store.ListBrokenAsync(default));
        Assert.Equal(Index, broken.Digest);
        Assert.Equal(["latest"], broken.Tags);
        Assert.Equal(missing, Assert.Single(broken.Missing), MissingObjectComparer.Instance);
        Assert.Equal(T0, broken.Since);

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, missing), T0.AddMinutes(1), null, null, default);
        Assert.Equal(T0, (await store.GetManifestAsync(Repo, Index, default))!.Since);

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(2), null, null, default);
        Assert.Equal(new VerdictCounts(0, 0, 1, 0), await store.CountVerdictsAsync(default));
        Assert.Empty(await store.ListBrokenAsync(default));
        Assert.Equal(T0.AddMinutes(2), (await store.GetManifestAsync(Repo, Index, default))!.Since);
    }

    [Fact]
    public async Task An_older_walk_never_overwrites_a_newer_verdict()
    {
        var store = await CreateStoreAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(5), null, null, default);
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Indeterminate), T0, null, null, default);

        Assert.Equal("healthy", (await store.GetManifestAsync(Repo, Index, default))!.Result);
    }

    [Fact]
    public async Task A_deleted_manifest_no_longer_counts_nor_refers()
    {
        var store = await CreateStoreAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, new MissingObject("layer", Layer, [Index, ChildA], 404, "BLOB_UNKNOWN")), T0, null, null, default);

        await store.MarkDeletedAsync(Repo, Index, T0.AddMinutes(1), Event("delete-1"), default);

        Assert.Equal(new VerdictCounts(0, 0, 0, 0), await store.CountVerdictsAsync(default));
        Assert.Empty(await store.FindReferrersAsync(Repo, ChildA, default));
        Assert.Equal(T0.AddMinutes(1), (await store.GetManifestAsync(Repo, Index, default))!.DeletedAt);
        Assert.True(await _events.IsProcessedAsync("delete-1", default));
    }

    [Fact]
    public async Task A_walk_whose_root_is_gone_marks_it_deleted()
    {
        var store = await CreateStoreAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, null, null, default);
        var gone = IndexWalk(VerdictResult.Broken, new MissingObject("manifest", Index, [], 404, "MANIFEST_UNKNOWN")) with { Edges = [] };

        await store.SaveWalkAsync(gone, T0.AddMinutes(1), null, null, default);

        Assert.NotNull((await store.GetManifestAsync(Repo, Index, default))!.DeletedAt);
        Assert.Equal(0, (await store.CountVerdictsAsync(default)).Broken);
        Assert.Equal("missing", (await store.GetHistoryAsync(Repo, Index, 10, default))[0].Result);
    }

    [Fact]
    public async Task Tags_move_and_can_be_deleted()
    {
        var store = await CreateStoreAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, "v1", null, default);
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, "latest", null, default);
        await store.DeleteTagAsync(Repo, "v1", T0, Event("tag-delete"), default);

        Assert.Equal(["latest"], (await store.GetManifestAsync(Repo, Index, default))!.Tags);
        Assert.True(await _events.IsProcessedAsync("tag-delete", default));
    }

    [Fact]
    public async Task History_lists_every_verdict_newest_first()
    {
        var store = await CreateStoreAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, null, Event("e1"), default);
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Indeterminate), T0.AddMinutes(1), null, null, default);

        var history = await store.GetHistoryAsync(Repo, Index, 10, default);
        Assert.Equal(["indeterminate", "healthy"], history.Select(h => h.Result));
        Assert.Equal("e1", history[1].EventId);
        Assert.Equal(["registry error"], history[0].Reasons);
    }

    [Fact]
    public async Task A_second_walk_for_an_already_processed_event_stores_nothing_unless_it_is_a_replay()
    {
        var store = await CreateStoreAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, null, Event("e1"), default);
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Indeterminate), T0.AddMinutes(1), null, Event("e1"), default);

        Assert.Equal(["healthy"], (await store.GetHistoryAsync(Repo, Index, 10, default)).Select(h => h.Result));
        Assert.Equal("healthy", (await store.GetManifestAsync(Repo, Index, default))!.Result);

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Indeterminate), T0.AddMinutes(2), null, Event("e1") with { Replay = true }, default);
        Assert.Equal(["indeterminate", "healthy"], (await store.GetHistoryAsync(Repo, Index, 10, default)).Select(h => h.Result));
    }

    [Fact]
    public async Task Recording_the_same_event_twice_is_harmless_and_migrations_run_once()
    {
        var store = await CreateStoreAsync();
        await _events.RecordAsync(Event("e1"), default);
        await _events.RecordAsync(Event("e1"), default);
        await store.MigrateAsync(default);
        Assert.True(await _events.IsProcessedAsync("e1", default));
    }

    [Fact]
    public async Task A_ping_answers_while_the_database_is_reachable()
    {
        var store = await CreateStoreAsync();
        await store.PingAsync(default);
    }

    [Fact]
    public async Task Missing_objects_are_counted_across_broken_manifests_and_leave_with_them()
    {
        var store = await CreateStoreAsync();
        var other = Digest('o');
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken,
            new MissingObject("child-manifest", ChildB, [Index], 404, "MANIFEST_UNKNOWN"),
            new MissingObject("layer", Layer, [Index, ChildA], 404, "BLOB_UNKNOWN")), T0, null, null, default);
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, new MissingObject("layer", Layer, [other], 404, "BLOB_UNKNOWN")) with { Digest = other }, T0, null, null, default);
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Indeterminate) with { Digest = Digest('x') }, T0, null, null, default);

        Assert.Equal(new VerdictCounts(2, 1, 0, 3), await store.CountVerdictsAsync(default));

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, new MissingObject("layer", Layer, [Index, ChildA], 404, "BLOB_UNKNOWN")), T0.AddMinutes(1), null, null, default);
        Assert.Equal(2, (await store.CountVerdictsAsync(default)).MissingObjects);

        await store.MarkDeletedAsync(Repo, other, T0.AddMinutes(2), null, default);
        Assert.Equal(new VerdictCounts(1, 1, 0, 1), await store.CountVerdictsAsync(default));
    }

    [Fact]
    public async Task An_artifacts_subject_is_kept_as_a_back_reference_not_as_a_child()
    {
        var store = await CreateStoreAsync();
        var signature = Digest('s');
        var walk = new WalkResult(
            Repo, signature, ManifestMediaTypes.OciManifest, VerdictResult.Healthy, [], [],
            [new Edge(signature, Config, ReferenceKind.Config), new Edge(signature, Layer, ReferenceKind.Layer)],
            new Dictionary<string, string?> { [signature] = ManifestMediaTypes.OciManifest },
            new Dictionary<string, string> { [signature] = Index });

        await store.SaveWalkAsync(walk, T0, null, null, default);

        Assert.Equal(Index, (await store.GetManifestAsync(Repo, signature, default))!.Subject);
        Assert.Empty(await store.FindReferrersAsync(Repo, Index, default));
    }

    private sealed class MissingObjectComparer : IEqualityComparer<MissingObject>
    {
        public static readonly MissingObjectComparer Instance = new();
        public bool Equals(MissingObject? x, MissingObject? y) =>
            x is not null && y is not null && x.Kind == y.Kind && x.Digest == y.Digest && x.Path.SequenceEqual(y.Path)
            && x.StatusCode == y.StatusCode && x.ErrorCode == y.ErrorCode;
        public int GetHashCode(MissingObject obj) => obj.Digest.GetHashCode(StringComparison.Ordinal);
    }
}

public sealed class Verdict_store_on_SQLite : Verdict_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Verdict_store_on_PostgreSQL(PostgresServer server) : Verdict_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
