using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Forecast;

/// <summary>The graph the forecast reads from the verdict store, on SQLite and a real PostgreSQL server.</summary>
public abstract class Forecasting_from_the_store
{
    private static readonly DateTimeOffset Started = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T0 = Started.AddMinutes(5);

    protected abstract Task<IDbConnectionFactory> CreateDatabaseAsync();

    private sealed record Store(IVerdictStore Verdicts, ISweepStore Sweeps, StoreGraphSource Source);

    private async Task<Store> CreateAsync()
    {
        var connections = await CreateDatabaseAsync();
        var sweeps = new DapperSweepStore(connections);
        return new Store(new DapperVerdictStore(connections, TimeProvider.System), sweeps,
            new StoreGraphSource(connections, sweeps, new VerifierStart(Started)));
    }

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    /// <summary>An index with one image child each (config + layer), all present.</summary>
    private static WalkResult Index(string repository, string index, params char[] children)
    {
        var edges = new List<Edge>();
        var manifests = new Dictionary<string, string?> { [index] = ManifestMediaTypes.OciIndex };
        foreach (var c in children)
        {
            edges.Add(new Edge(index, Digest(c), ReferenceKind.ChildManifest));
            edges.Add(new Edge(Digest(c), Digest(char.ToUpperInvariant(c)), ReferenceKind.Config));
            edges.Add(new Edge(Digest(c), Digest((char)(c + 1)), ReferenceKind.Layer));
            manifests[Digest(c)] = ManifestMediaTypes.OciManifest;
        }
        return new WalkResult(repository, index, ManifestMediaTypes.OciIndex, VerdictResult.Healthy, [], [], edges, manifests, new Dictionary<string, string>());
    }

    private static async Task CompleteSweepAsync(Store store, DateTimeOffset at)
    {
        var id = Guid.NewGuid();
        await store.Sweeps.StartSweepAsync(id, "api", at, default);
        await store.Sweeps.SetEnumeratedAsync(id, 1, at, default);
        await store.Sweeps.RepositoryDoneAsync(id, 1, 1, at.AddSeconds(1), default);
    }

    private static async Task<GcForecast> ForecastAsync(Store store, GcMode mode = GcMode.DeleteUntagged, GcVersion version = GcVersion.V2_8)
    {
        var (graph, completeness) = await store.Source.ReadAsync(default);
        return GcForecaster.Forecast(graph, completeness, mode, version, store.Source.Name, T0);
    }

    [Fact]
    public async Task A_tagged_index_with_untagged_children_breaks_under_2_8_delete_untagged_and_not_under_3x()
    {
        var store = await CreateAsync();
        var index = Digest('0');
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", index, 'a', 'c'), T0, "latest", null, default);
        await CompleteSweepAsync(store, T0);

        var on28 = await ForecastAsync(store);
        var on3 = await ForecastAsync(store, version: GcVersion.V3);

        Assert.Equal(GcForecast.WouldBreak, on28.Result);
        Assert.Equal([Digest('a'), Digest('c')], on28.DeletedManifests.Select(m => m.Digest));
        Assert.Equal(new[] { Digest('A'), Digest('b'), Digest('C'), Digest('d') }.Order(), on28.DeletedBlobs);
        var image = Assert.Single(on28.Images, i => i.Tag == "latest");
        Assert.Equal(["infra/ci:latest", index, Digest('a')], Assert.Single(image.Breaks, b => b.Digest == Digest('a')).Path);
        Assert.Equal(GcForecast.Safe, on3.Result);
        Assert.Empty(on3.DeletedBlobs);
    }

    [Fact]
    public async Task A_deleted_tag_moves_the_marker_that_keeps_the_forecast_gauge_current()
    {
        var store = await CreateAsync();
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", Digest('0'), 'a'), T0, "latest", null, default);
        await CompleteSweepAsync(store, T0);
        var before = await store.Source.ChangeMarkerAsync(default);
        var forecastBefore = await ForecastAsync(store);

        // A tag deleted through the API and a tag directory removed on the registry's storage both end here.
        await store.Verdicts.DeleteTagAsync("infra/ci", "latest", T0.AddMinutes(1), processedEvent: null, default);

        Assert.NotEqual(before, await store.Source.ChangeMarkerAsync(default));
        Assert.Equal(GcForecast.WouldBreak, forecastBefore.Result);
        Assert.Equal(GcForecast.Safe, (await ForecastAsync(store)).Result);
    }

    [Fact]
    public async Task The_marker_stays_while_nothing_changes()
    {
        var store = await CreateAsync();
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", Digest('0'), 'a'), T0, "latest", null, default);
        await CompleteSweepAsync(store, T0);

        Assert.Equal(await store.Source.ChangeMarkerAsync(default), await store.Source.ChangeMarkerAsync(default));
    }

    [Fact]
    public async Task Without_a_sweep_completed_since_the_verifier_started_the_forecast_is_incomplete()
    {
        var store = await CreateAsync();
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", Digest('0'), 'a'), T0, "latest", null, default);

        var never = await ForecastAsync(store);
        await CompleteSweepAsync(store, Started.AddMinutes(-30));
        var before = await ForecastAsync(store);

        Assert.Equal(GcForecast.Incomplete, never.Result);
        Assert.Contains("no sweep has completed yet", Assert.Single(never.Gaps), StringComparison.Ordinal);
        Assert.Equal(GcForecast.Incomplete, before.Result);
        Assert.Contains("since this Verifier started", Assert.Single(before.Gaps), StringComparison.Ordinal);
        Assert.Equal(2, before.ExitCode);
    }

    [Fact]
    public async Task A_registry_restart_after_the_last_sweep_started_makes_it_incomplete()
    {
        var store = await CreateAsync();
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", Digest('0'), 'a'), T0, "latest", null, default);
        await CompleteSweepAsync(store, T0);
        await store.Sweeps.RecordInstanceAsync("instance-2", T0.AddMinutes(1), default);

        var forecast = await ForecastAsync(store);

        Assert.Equal(GcForecast.Incomplete, forecast.Result);
        Assert.Contains("registry restarted", Assert.Single(forecast.Gaps), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_whose_latest_walk_was_indeterminate_makes_it_incomplete()
    {
        var store = await CreateAsync();
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", Digest('0'), 'a'), T0, "latest", null, default);
        var unreachable = new WalkResult("infra/ci", Digest('9'), null, VerdictResult.Indeterminate, [], ["manifest: 503"], [],
            new Dictionary<string, string?>(), new Dictionary<string, string>());
        await store.Verdicts.SaveWalkAsync(unreachable, T0, null, null, default);
        await CompleteSweepAsync(store, T0);

        var forecast = await ForecastAsync(store);

        Assert.Equal(GcForecast.Incomplete, forecast.Result);
        Assert.Contains($"infra/ci@{Digest('9')}", Assert.Single(forecast.Gaps), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repository_without_a_tags_directory_makes_2_8_delete_untagged_fail()
    {
        var store = await CreateAsync();
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", Digest('0'), 'a'), T0, "latest", null, default);
        await store.Verdicts.SaveWalkAsync(Index("by-digest", Digest('5'), 'e'), T0, null, null, default);
        await store.Sweeps.RecordTagDirectoryAsync("by-digest", tagsMissing: true, T0, default);
        await store.Sweeps.RecordTagDirectoryAsync("infra/ci", tagsMissing: false, T0, default);
        await CompleteSweepAsync(store, T0);

        var forecast = await ForecastAsync(store);
        var plain = await ForecastAsync(store, GcMode.Plain);

        Assert.Equal(GcForecast.GcFails, forecast.Result);
        Assert.Contains("by-digest", forecast.GcFailure, StringComparison.Ordinal);
        Assert.Equal(GcForecast.Safe, plain.Result);
    }

    [Fact]
    public async Task A_child_the_last_walk_proved_missing_is_no_revision_and_its_index_is_already_broken()
    {
        var store = await CreateAsync();
        var index = Digest('0');
        await store.Verdicts.SaveWalkAsync(Index("infra/ci", index, 'a', 'c'), T0, "latest", null, default);
        var broken = Index("infra/ci", index, 'a') with
        {
            Result = VerdictResult.Broken,
            Missing = [new MissingObject("child-manifest", Digest('c'), [index], 404, "MANIFEST_UNKNOWN")],
        };
        await store.Verdicts.SaveWalkAsync(broken, T0.AddSeconds(1), "latest", null, default);
        await CompleteSweepAsync(store, T0.AddSeconds(2));

        var forecast = await ForecastAsync(store, GcMode.Plain);

        var image = Assert.Single(forecast.Images, i => i.Tag == "latest");
        Assert.Equal("already-broken", image.Status);
        Assert.Equal(Digest('c'), Assert.Single(image.AlreadyMissing).Digest);
        // Plain GC marks the missing child's digest (the index names it) but nothing marks its blobs any more.
        Assert.Equal(new[] { Digest('C'), Digest('d') }.Order(), forecast.DeletedBlobs);
    }
}

public sealed class Forecasting_from_the_store_on_SQLite : Forecasting_from_the_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => SqliteStores.CreateDatabaseAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class Forecasting_from_the_store_on_PostgreSQL(PostgresServer server) : Forecasting_from_the_store
{
    protected override Task<IDbConnectionFactory> CreateDatabaseAsync() => server.CreateDatabaseAsync();
}
