using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Store;

/// <summary>
/// The verdict rules (<see cref="VerdictRules"/>) as the store applies them, with observations arriving in
/// the worst order: an outage after a proof, a walk older than a deletion, a listing older than a push.
/// Every case runs on SQLite and on a real PostgreSQL server.
/// </summary>
public abstract class Keeping_the_newest_truth
{
    private const string Repo = "team/app";
    private static readonly string Index = Digest('i'), ChildA = Digest('a'), ChildB = Digest('b'), Layer = Digest('l');
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

    protected abstract Task<(IVerdictStore Verdicts, ISweepStore Sweeps)> CreateStoresAsync();

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private static readonly MissingObject ChildBMissing = new("child-manifest", ChildB, [Index], 404, "MANIFEST_UNKNOWN");

    private static WalkResult IndexWalk(VerdictResult result, IReadOnlyList<MissingObject>? missing = null, IReadOnlyList<string>? reasons = null, IReadOnlyCollection<string>? present = null) => new(
        Repo, Index, ManifestMediaTypes.OciIndex, result, missing ?? [], reasons ?? (result == VerdictResult.Indeterminate ? ["child-manifest: registry error (503)"] : []),
        [new Edge(Index, ChildA, ReferenceKind.ChildManifest), new Edge(Index, ChildB, ReferenceKind.ChildManifest), new Edge(ChildA, Layer, ReferenceKind.Layer)],
        result == VerdictResult.Indeterminate && reasons is null
            ? new Dictionary<string, string?>()
            : new Dictionary<string, string?> { [Index] = ManifestMediaTypes.OciIndex, [ChildA] = ManifestMediaTypes.OciManifest },
        new Dictionary<string, string>())
    {
        Present = present ?? [],
    };

    private static WalkResult Unreachable() => IndexWalk(VerdictResult.Indeterminate, reasons: ["manifest: registry unreachable (connection failed)"]) with
    {
        Manifests = new Dictionary<string, string?>(),
    };

    private static WalkResult RootGone() => IndexWalk(VerdictResult.Broken, [new MissingObject("manifest", Index, [], 404, "MANIFEST_UNKNOWN")]) with
    {
        Edges = [], Manifests = new Dictionary<string, string?>(),
    };

    [Fact]
    public async Task An_unreachable_registry_never_turns_a_broken_manifest_indeterminate()
    {
        var (store, _) = await CreateStoresAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing]), T0, "latest", null, default);

        await store.SaveWalkAsync(Unreachable(), T0.AddMinutes(1), null, null, default);

        var broken = Assert.Single(await store.ListBrokenAsync(default));
        Assert.Equal("broken", broken.Result);
        Assert.Equal(ChildB, Assert.Single(broken.Missing).Digest);
        Assert.Equal(T0, broken.CheckedAt);
        Assert.Equal(T0.AddMinutes(1), broken.StaleSince);
        Assert.Equal(("indeterminate", T0.AddMinutes(1)), (broken.LastAttempt!.Result, broken.LastAttempt.At));
        Assert.Contains("registry unreachable", Assert.Single(broken.LastAttempt.Reasons), StringComparison.Ordinal);
        var counts = await store.CountVerdictsAsync(default);
        Assert.Equal((1L, 1L, 1L, 1L), (counts.Broken, counts.MissingObjects, counts.Indeterminate, counts.Stale));
        Assert.Equal(T0.AddMinutes(1), counts.StaleSince);
    }

    [Fact]
    public async Task An_unreachable_registry_keeps_a_healthy_verdict_marked_stale_since_the_first_failure()
    {
        var (store, _) = await CreateStoresAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, null, null, default);

        await store.SaveWalkAsync(Unreachable(), T0.AddMinutes(1), null, null, default);
        await store.SaveWalkAsync(Unreachable(), T0.AddMinutes(2), null, null, default);

        var manifest = (await store.GetManifestAsync(Repo, Index, default))!;
        Assert.Equal(("healthy", T0, T0.AddMinutes(1)), (manifest.Result, manifest.CheckedAt, manifest.StaleSince));
        Assert.Equal(T0.AddMinutes(2), manifest.LastAttempt!.At);

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(3), null, null, default);
        manifest = (await store.GetManifestAsync(Repo, Index, default))!;
        Assert.Null(manifest.StaleSince);
        Assert.Equal((0L, 0L, 1L), ((await store.CountVerdictsAsync(default)).Stale, (await store.CountVerdictsAsync(default)).Indeterminate, (await store.CountVerdictsAsync(default)).Healthy));
    }

    [Fact]
    public async Task A_broken_walk_that_could_not_reach_everything_keeps_what_was_proven_missing()
    {
        var (store, _) = await CreateStoresAsync();
        var layerMissing = new MissingObject("layer", Layer, [Index, ChildA], 404, "BLOB_UNKNOWN");
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing, layerMissing]), T0, null, null, default);

        // Child B is still 404; child A could not be fetched, so its layer was never asked about.
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing], ["child-manifest " + ChildA + ": registry error (503)"]), T0.AddMinutes(1), null, null, default);
        Assert.Equal([ChildB, Layer], (await store.GetManifestAsync(Repo, Index, default))!.Missing.Select(m => m.Digest).Order());

        // Seen present by a later walk that still could not finish: the layer is no longer claimed missing.
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing], ["config: registry error (503)"], present: [Index, ChildA, Layer]), T0.AddMinutes(2), null, null, default);
        Assert.Equal([ChildB], (await store.GetManifestAsync(Repo, Index, default))!.Missing.Select(m => m.Digest));
        Assert.Equal(1, (await store.CountVerdictsAsync(default)).MissingObjects);
    }

    [Fact]
    public async Task A_walk_whose_answers_predate_the_stored_verdict_changes_nothing()
    {
        var (store, _) = await CreateStoresAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing]), T0.AddMinutes(2), null, null, default);

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(1), null, null, default);

        Assert.Equal("broken", (await store.GetManifestAsync(Repo, Index, default))!.Result);
    }

    [Fact]
    public async Task A_walk_whose_answers_predate_a_deletion_does_not_bring_the_manifest_back()
    {
        var (store, _) = await CreateStoresAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, null, null, default);
        await store.MarkDeletedAsync(Repo, Index, T0.AddMinutes(2), null, default);

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(1), null, null, default);

        Assert.Equal(T0.AddMinutes(2), (await store.GetManifestAsync(Repo, Index, default))!.DeletedAt);
        Assert.Equal(0, (await store.CountVerdictsAsync(default)).Healthy);
    }

    [Fact]
    public async Task A_parent_walk_that_predates_a_childs_deletion_does_not_bring_the_child_back()
    {
        var (store, _) = await CreateStoresAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, null, null, default);
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy) with { Digest = ChildA, Edges = [], Manifests = new Dictionary<string, string?> { [ChildA] = ManifestMediaTypes.OciManifest } }, T0, null, null, default);
        await store.MarkDeletedAsync(Repo, ChildA, T0.AddMinutes(2), null, default);

        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(1), null, null, default);

        Assert.Equal(T0.AddMinutes(2), (await store.GetManifestAsync(Repo, ChildA, default))!.DeletedAt);
    }

    [Fact]
    public async Task A_deletion_older_than_a_sighting_is_ignored_and_a_re_push_after_it_starts_a_new_life()
    {
        var (store, _) = await CreateStoresAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing]), T0.AddMinutes(2), null, null, default);

        await store.MarkDeletedAsync(Repo, Index, T0.AddMinutes(1), null, default);
        Assert.Null((await store.GetManifestAsync(Repo, Index, default))!.DeletedAt);

        await store.MarkDeletedAsync(Repo, Index, T0.AddMinutes(3), null, default);
        await store.SaveWalkAsync(RootGone(), T0.AddMinutes(4), null, null, default);
        Assert.Equal(T0.AddMinutes(3), (await store.GetManifestAsync(Repo, Index, default))!.DeletedAt);

        await store.SaveWalkAsync(Unreachable() with { Manifests = new Dictionary<string, string?> { [Index] = ManifestMediaTypes.OciIndex } }, T0.AddMinutes(5), null, null, default);
        var revived = (await store.GetManifestAsync(Repo, Index, default))!;
        Assert.Null(revived.DeletedAt);
        Assert.Equal("indeterminate", revived.Result); // the broken verdict of its earlier life is not carried over
        Assert.Empty(revived.Missing);
    }

    [Fact]
    public async Task A_stale_404_from_before_a_re_push_does_not_delete_the_manifest_again()
    {
        var (store, _) = await CreateStoresAsync();
        await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(2), null, null, default);

        await store.SaveWalkAsync(RootGone(), T0.AddMinutes(1), null, null, default);

        Assert.Null((await store.GetManifestAsync(Repo, Index, default))!.DeletedAt);
    }

    [Fact]
    public async Task A_walk_is_overtaken_only_by_a_push_of_what_it_saw_missing_or_a_delete_of_what_it_saw_present()
    {
        var (store, _) = await CreateStoresAsync();
        await store.RecordPushAsync(Repo, ChildA, T0.AddMinutes(1), default); // the same digest pushed again: nothing it saw changed
        Assert.True(await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing], present: [Index, ChildA, Layer]), T0, null, null, default));

        await store.RecordPushAsync(Repo, ChildB, T0.AddMinutes(2), default); // the missing child came back after the walk's answers
        Assert.False(await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [ChildBMissing], present: [Index, ChildA, Layer]), T0.AddMinutes(1), null, null, default));

        await store.MarkDeletedAsync(Repo, ChildA, T0.AddMinutes(4), null, default); // a child it saw went after its answers
        Assert.False(await store.SaveWalkAsync(IndexWalk(VerdictResult.Healthy, present: [Index, ChildA, ChildB, Layer]), T0.AddMinutes(3), null, null, default));
        Assert.True(await store.SaveWalkAsync(IndexWalk(VerdictResult.Broken, [new MissingObject("child-manifest", ChildA, [Index], 404, "MANIFEST_UNKNOWN")], present: [Index, ChildB]), T0.AddMinutes(5), null, null, default));
    }

    [Fact]
    public async Task A_tag_listing_older_than_a_push_keeps_the_pushed_tag()
    {
        var (verdicts, sweeps) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(2), "v2", null, default);

        Assert.True(await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string>(), [], T0.AddMinutes(1), default));

        Assert.Equal(["v2"], (await verdicts.GetManifestAsync(Repo, Index, default))!.Tags);
    }

    [Fact]
    public async Task A_listed_tag_whose_manifest_answers_404_is_broken_named_and_counted_until_it_resolves_again()
    {
        var (verdicts, sweeps) = await CreateStoresAsync();
        await verdicts.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0, "latest", null, default);

        await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string>(), ["latest"], T0.AddMinutes(1), default);
        await verdicts.SaveWalkAsync(RootGone(), T0.AddMinutes(1), null, null, default);

        var dangling = Assert.Single(await verdicts.ListDanglingTagsAsync(default));
        Assert.Equal((Repo, "latest", Index, "broken"), (dangling.Repository, dangling.Tag, dangling.Digest, dangling.Result));
        Assert.Equal(Index, Assert.Single(dangling.Missing).Digest);
        Assert.Contains("tag points to a missing manifest", Assert.Single(dangling.Reasons), StringComparison.Ordinal);
        var counts = await verdicts.CountVerdictsAsync(default);
        Assert.Equal((1L, 1L, 1L), (counts.Broken, counts.DanglingTags, counts.MissingObjects));

        // Still dangling at the next listing: the same since, the digest it last resolved to kept.
        await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string>(), ["latest"], T0.AddMinutes(2), default);
        Assert.Equal((T0.AddMinutes(1), Index), ((await verdicts.ListDanglingTagsAsync(default))[0].Since, (await verdicts.ListDanglingTagsAsync(default))[0].Digest));

        // Re-pushed: the tag resolves again.
        await verdicts.SaveWalkAsync(IndexWalk(VerdictResult.Healthy), T0.AddMinutes(3), "latest", null, default);
        Assert.Empty(await verdicts.ListDanglingTagsAsync(default));
        Assert.Equal(0, (await verdicts.CountVerdictsAsync(default)).Broken);
    }

    [Fact]
    public async Task A_dangling_tag_nobody_knew_is_broken_without_a_digest_and_leaves_when_it_is_no_longer_listed()
    {
        var (verdicts, sweeps) = await CreateStoresAsync();

        await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string>(), ["ghost"], T0, default);
        var dangling = Assert.Single(await verdicts.ListDanglingTagsAsync(default));
        Assert.Null(dangling.Digest);
        Assert.Equal(1, (await verdicts.CountVerdictsAsync(default)).Broken);
        Assert.Contains(Repo, await sweeps.ListRepositoriesAsync(default));

        await sweeps.ReconcileTagsAsync(Repo, new Dictionary<string, string>(), [], T0.AddMinutes(1), default);
        Assert.Empty(await verdicts.ListDanglingTagsAsync(default));
    }
}

public sealed class Keeping_the_newest_truth_on_SQLite : Keeping_the_newest_truth
{
    protected override async Task<(IVerdictStore, ISweepStore)> CreateStoresAsync()
    {
        var connections = await SqliteStores.CreateDatabaseAsync();
        return (new Verifier.Store.Dapper.DapperVerdictStore(connections, TimeProvider.System), new Verifier.Store.Dapper.DapperSweepStore(connections));
    }
}

[Collection(PostgresCollection.Name)]
public sealed class Keeping_the_newest_truth_on_PostgreSQL(PostgresServer server) : Keeping_the_newest_truth
{
    protected override async Task<(IVerdictStore, ISweepStore)> CreateStoresAsync()
    {
        var connections = await server.CreateDatabaseAsync();
        return (new Verifier.Store.Dapper.DapperVerdictStore(connections, TimeProvider.System), new Verifier.Store.Dapper.DapperSweepStore(connections));
    }
}
