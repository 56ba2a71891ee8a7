using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.RegistryStorage;

namespace RegistryIntegrity.Verifier.Tests.Forecast;

/// <summary>
/// The storage graph source over small planted trees: what distribution's mark phase reads (checked on the real
/// 2.8.2 for the tag without a current link and the revision without data), what the registry serves, and what
/// cannot be read. The differential test (EndToEnd GcForecast) holds it to the real garbage-collect.
/// </summary>
public sealed class Forecasting_from_the_registry_storage : IDisposable
{
    private readonly PlantedStorage _tree = new();

    public void Dispose() => _tree.Dispose();

    private Task<GcForecast> ForecastAsync(GcMode mode, GcVersion version = GcVersion.V2_8) =>
        new GcForecastService(new StorageGraphSource(new FileSystemRegistryStorage(_tree.Root), 4 * 1024 * 1024), TimeProvider.System)
            .ForecastAsync(mode, version, CancellationToken.None);

    [Fact]
    public async Task A_tag_directory_without_a_current_link_is_no_tag_so_delete_untagged_deletes_its_manifest()
    {
        var kept = _tree.Image("app", "a");
        var orphan = _tree.Image("app", "b");
        _tree.RemoveCurrentLink("app", "b");

        var forecast = await ForecastAsync(GcMode.DeleteUntagged);

        Assert.Equal(GcForecast.Safe, forecast.Result);
        Assert.Equal("storage", forecast.Source);
        Assert.Equal(1, forecast.Summary.TaggedImages);
        Assert.Equal([new ForecastManifest("app", orphan.Digest)], forecast.DeletedManifests);
        Assert.Equal(new[] { orphan.Digest, orphan.Config, orphan.Layers[0] }.Order(StringComparer.Ordinal), forecast.DeletedBlobs);
        Assert.DoesNotContain(kept.Digest, forecast.DeletedBlobs);
    }

    [Fact]
    public async Task A_revision_link_whose_data_is_gone_is_neither_marked_nor_deleted_and_its_tag_is_broken_already()
    {
        var gone = _tree.Image("app", "gone");
        var untagged = _tree.Image("app");
        _tree.RemoveBlobData(gone.Digest);

        var plain = await ForecastAsync(GcMode.Plain);
        var deleteUntagged = await ForecastAsync(GcMode.DeleteUntagged);

        // 2.8.2 skips it when enumerating revisions (its Stat says blob unknown): the run goes on, its blobs are unmarked.
        Assert.Null(plain.GcFailure);
        Assert.Equal(new[] { gone.Config, gone.Layers[0] }.Order(StringComparer.Ordinal), plain.DeletedBlobs);
        var image = Assert.Single(plain.Images);
        Assert.Equal(("gone", "already-broken"), (image.Tag, image.Status));
        Assert.Equal(gone.Digest, Assert.Single(image.AlreadyMissing).Digest);
        Assert.Equal([new ForecastManifest("app", untagged.Digest)], deleteUntagged.DeletedManifests);
    }

    [Fact]
    public async Task An_index_whose_child_has_no_revision_here_is_broken_already_and_the_childs_blobs_are_swept()
    {
        var child = _tree.Image("other");
        var index = _tree.Index("app", "latest", child.Digest);
        _tree.RemoveRevision("other", child.Digest);

        foreach (var version in new[] { GcVersion.V2_8, GcVersion.V3 })
        {
            var forecast = await ForecastAsync(GcMode.Plain, version);

            var image = Assert.Single(forecast.Images, i => i.Tag is not null);
            Assert.Equal(("latest", index, "already-broken"), (image.Tag, image.Digest, image.Status));
            Assert.Equal(["app:latest", index, child.Digest], Assert.Single(image.AlreadyMissing).Path);
            // The index marks the child's manifest data; nothing reads the child, so its config and layer go.
            Assert.Equal(new[] { child.Config, child.Layers[0] }.Order(StringComparer.Ordinal), forecast.DeletedBlobs);
        }
    }

    [Fact]
    public async Task A_tagged_index_loses_its_untagged_children_to_2_8_delete_untagged_but_not_to_3x()
    {
        var amd64 = _tree.Image("infra/ci");
        var index = _tree.Index("infra/ci", "latest", amd64.Digest);

        var v28 = await ForecastAsync(GcMode.DeleteUntagged);
        var v3 = await ForecastAsync(GcMode.DeleteUntagged, GcVersion.V3);

        Assert.Equal(GcForecast.WouldBreak, v28.Result);
        Assert.Equal([new ForecastManifest("infra/ci", amd64.Digest)], v28.DeletedManifests);
        var image = Assert.Single(v28.Images, i => i.Tag == "latest");
        Assert.Contains(image.Breaks, b => b.Path.SequenceEqual(["infra/ci:latest", index, amd64.Digest, amd64.Layers[0]]));
        Assert.Equal(GcForecast.Safe, v3.Result);
        Assert.Empty(v3.DeletedBlobs);
    }

    [Fact]
    public async Task A_layer_link_whose_data_is_gone_or_a_layer_without_its_link_breaks_the_image_already()
    {
        var noData = _tree.Image("app", "no-data");
        var noLink = _tree.Image("app", "no-link");
        _tree.RemoveBlobData(noData.Layers[0]);
        _tree.RemoveLayerLink("app", noLink.Layers[0]);

        var forecast = await ForecastAsync(GcMode.Plain);

        Assert.Equal(GcForecast.Safe, forecast.Result);
        Assert.Empty(forecast.DeletedBlobs);
        Assert.Equal(["app:no-data", "app:no-link"], forecast.Images.Select(i => $"{i.Repository}:{i.Tag}").Order(StringComparer.Ordinal));
        Assert.All(forecast.Images, i => Assert.Equal("already-broken", i.Status));
        Assert.Equal(noData.Layers[0], Assert.Single(Assert.Single(forecast.Images, i => i.Tag == "no-data").AlreadyMissing).Digest);
        Assert.Equal(noLink.Layers[0], Assert.Single(Assert.Single(forecast.Images, i => i.Tag == "no-link").AlreadyMissing).Digest);
    }

    [Fact]
    public async Task Blob_data_no_manifest_references_is_deleted_and_a_repository_without_tags_directory_fails_2_8()
    {
        var upload = _tree.Blob("abandoned upload");
        var byDigest = _tree.Image("pushed/by-digest");

        var plain = await ForecastAsync(GcMode.Plain);
        var deleteUntagged = await ForecastAsync(GcMode.DeleteUntagged);

        Assert.Equal([upload], plain.DeletedBlobs);
        Assert.Equal(GcForecast.GcFails, deleteUntagged.Result);
        Assert.Contains("no tags directory", deleteUntagged.GcFailure, StringComparison.Ordinal);
        Assert.Contains(byDigest.Digest, deleteUntagged.GcFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_whose_data_is_no_manifest_makes_the_gc_fail_and_a_link_holding_no_digest_makes_the_forecast_incomplete()
    {
        var broken = _tree.Manifest("app", "broken", "not json");
        var unparsed = await ForecastAsync(GcMode.Plain);
        _tree.Write(RegistryStorageLayout.TagCurrentLinkPath("app", "garbled"), "not a digest");
        var garbled = await ForecastAsync(GcMode.Plain);

        Assert.Equal(GcForecast.GcFails, unparsed.Result);
        Assert.Contains(broken, unparsed.GcFailure, StringComparison.Ordinal);
        Assert.Equal(GcForecast.Incomplete, garbled.Result);
        Assert.Equal(2, garbled.ExitCode);
        Assert.Contains("holds no digest", Assert.Single(garbled.Gaps), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_root_that_is_not_there_is_incomplete_never_safe()
    {
        var source = new StorageGraphSource(new FileSystemRegistryStorage(Path.Combine(_tree.Root, "nowhere")), 4096);

        var (graph, completeness) = await source.ReadAsync(CancellationToken.None);

        Assert.Empty(graph.Repositories);
        Assert.Contains("does not exist", Assert.Single(completeness.Gaps), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_verb_forecasts_from_the_storage_root_given_and_exits_by_the_result()
    {
        _tree.Index("infra/ci", "latest", _tree.Image("infra/ci").Digest);

        var json = await Asking_for_a_gc_forecast.RunAsync("gc-forecast", "--storage-root", _tree.Root, "--mode", "delete-untagged", "--registry-version", "2.8", "--json");
        var table = await Asking_for_a_gc_forecast.RunAsync("gc-forecast", "--storage-root", _tree.Root, "--mode", "plain");
        var missing = await Asking_for_a_gc_forecast.RunAsync("gc-forecast", "--storage-root", Path.Combine(_tree.Root, "nowhere"));
        var both = await Asking_for_a_gc_forecast.RunAsync("gc-forecast", "--storage-root", _tree.Root, "--server", "http://127.0.0.1:1");

        Assert.True(json.ExitCode == 1, json.Error);
        var document = JsonDocument.Parse(json.Output).RootElement;
        Assert.Equal(("would-break", "storage"), (document.GetProperty("result").GetString(), document.GetProperty("source").GetString()));
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("from the storage", table.Output, StringComparison.Ordinal);
        Assert.True(missing.ExitCode == 64, missing.Error);
        Assert.Contains("does not exist", missing.Error, StringComparison.Ordinal);
        Assert.True(both.ExitCode == 64, both.Error);
        Assert.Contains("not both", both.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_forecasts_from_the_storage_when_the_verifier_may_read_it()
    {
        _tree.Index("infra/ci", "latest", _tree.Image("infra/ci").Digest);
        var database = Path.Combine(Path.GetTempPath(), $"verifier-forecast-storage-{Guid.NewGuid():N}.db");
        await using var app = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
            builder.UseSetting("Registry:BaseUrl", "http://127.0.0.1:1/");
            builder.UseSetting("Store:Provider", "Sqlite");
            builder.UseSetting("Store:ConnectionString", $"Data Source={database}");
            builder.UseSetting("Sweep:Enabled", "false");
            builder.UseSetting("RegistryStorage:Root", _tree.Root);
            builder.ConfigureTestServices(services => services.AddMassTransitTestHarness());
        });
        try
        {
            using var api = app.CreateClient();

            // No sweep ever completed: from the store this would be incomplete; the storage is read as it is.
            var forecast = await api.GetFromJsonAsync<JsonElement>("/v1/gc-forecast?mode=delete-untagged&version=2.8");

            Assert.Equal("storage", forecast.GetProperty("source").GetString());
            Assert.Equal("would-break", forecast.GetProperty("result").GetString());
            Assert.Equal(1, forecast.GetProperty("summary").GetProperty("taggedImagesBroken").GetInt32());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(database);
        }
    }
}
