using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.RegistryStorageRemovals;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.RegistryStorageRemovals;

/// <summary>What the verdict store keeps about removals seen on the registry's storage, on SQLite and PostgreSQL.</summary>
public abstract class Registry_storage_removal_store
{
    private static readonly string Index = Digest('i'), Child = Digest('a'), Layer = Digest('l'), Config = Digest('c'), Other = Digest('o');
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private static WalkResult IndexWalk(string repository) => new(
        repository, Index, ManifestMediaTypes.OciIndex, VerdictResult.Healthy, [], [],
        [new Edge(Index, Child, ReferenceKind.ChildManifest), new Edge(Child, Config, ReferenceKind.Config), new Edge(Child, Layer, ReferenceKind.Layer)],
        new Dictionary<string, string?> { [Index] = ManifestMediaTypes.OciIndex, [Child] = ManifestMediaTypes.OciManifest },
        new Dictionary<string, string>());

    [Fact]
    public async Task Records_a_removed_tag_once_with_the_digest_it_last_resolved_to()
    {
        var connections = await CreateDatabaseAsync();
        var verdicts = new DapperVerdictStore(connections, TimeProvider.System);
        var removals = new RegistryStorageRemovalStore(connections, TimeProvider.System);
        await verdicts.SaveWalkAsync(IndexWalk("team/app"), T0, "latest", null, default);

        var removal = new TagRemoval("team/app", "latest", null, T0.AddMinutes(1));
        await removals.RecordTagRemovalsAsync([removal, new TagRemoval("team/app", "never-seen", null, T0.AddMinutes(1))], default);
        // Delivered again (a redelivered message), or its folder seen in the next window: still one row each.
        await removals.RecordTagRemovalsAsync([removal], default);
        await removals.RecordTagRemovalsAsync([removal with { RemovedAt = removal.RemovedAt.AddMilliseconds(250) }], default);

        var recorded = await removals.ListTagRemovalsAsync(T0, 10, default);
        Assert.Equal([("latest", Index), ("never-seen", (string?)null)], recorded.Select(r => (r.Tag, r.Digest)).Order());
        Assert.All(recorded, r => Assert.Equal(T0.AddMinutes(1), r.RemovedAt));
        Assert.Empty(await removals.ListTagRemovalsAsync(T0.AddMinutes(2), 10, default));
    }

    [Fact]
    public async Task Finds_the_live_holders_of_a_removed_blob_in_every_repository()
    {
        var connections = await CreateDatabaseAsync();
        var verdicts = new DapperVerdictStore(connections, TimeProvider.System);
        var removals = new RegistryStorageRemovalStore(connections, TimeProvider.System);
        await verdicts.SaveWalkAsync(IndexWalk("team/app"), T0, "latest", null, default);
        await verdicts.SaveWalkAsync(IndexWalk("team/copy"), T0, "latest", null, default);
        await verdicts.SaveWalkAsync(IndexWalk("team/gone"), T0, "latest", null, default);
        await verdicts.MarkDeletedAsync("team/gone", Child, T0.AddMinutes(1), null, default);

        var holders = await removals.FindHoldersAsync([Layer, Child, Other], default);

        Assert.Equal(
            [("team/app", Child, false), ("team/app", Child, true), ("team/app", Layer, false), ("team/copy", Child, false), ("team/copy", Child, true), ("team/copy", Layer, false), ("team/gone", Child, false)],
            holders.Select(h => (h.Repository, h.Digest, h.IsManifest)).Order());
    }
}

public sealed class Registry_storage_removal_store_on_SQLite : Registry_storage_removal_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Registry_storage_removal_store_on_PostgreSQL(PostgresServer server) : Registry_storage_removal_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
