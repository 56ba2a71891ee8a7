using RegistryIntegrity.Verifier.Forecast;
using static RegistryIntegrity.Verifier.Tests.Forecast.GraphBuilder;

namespace RegistryIntegrity.Verifier.Tests.Forecast;

/// <summary>Hand-checked cases of distribution 2.8's mark phase (registry/storage/garbagecollect.go at v2.8.2), confirmed on the real 2.8.2 by the differential test.</summary>
public sealed class Forecasting_a_2_8_garbage_collection
{
    private static GcForecast Forecast(GraphBuilder g, GcMode mode, GcVersion version = GcVersion.V2_8) => g.Forecast(mode, version);

    [Fact]
    public void Delete_untagged_deletes_the_untagged_children_of_a_tagged_index_and_sweeps_their_blobs_but_not_their_manifest_data()
    {
        var g = new GraphBuilder();
        var amd64 = g.Image("infra/ci");
        var attestation = g.Image("infra/ci");
        var index = g.Index("infra/ci", "latest", amd64, attestation);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Equal(GcForecast.WouldBreak, forecast.Result);
        Assert.Equal(1, forecast.ExitCode);
        Assert.Equal(new[] { amd64, attestation }.Order(), forecast.DeletedManifests.Select(m => m.Digest).Order());
        var childBlobs = g.ReferencesOf("infra/ci", amd64).Concat(g.ReferencesOf("infra/ci", attestation)).Order().ToList();
        Assert.Equal(childBlobs, forecast.DeletedBlobs);
        var image = Assert.Single(forecast.Images, i => i.Tag == "latest");
        Assert.Equal("breaks", image.Status);
        var lostChild = Assert.Single(image.Breaks, b => b.Digest == amd64);
        Assert.Equal(["infra/ci:latest", index, amd64], lostChild.Path);
        Assert.Contains("distribution#3004", lostChild.Reason, StringComparison.Ordinal);
        var lostLayer = Assert.Single(image.Breaks, b => b.Digest == g.ReferencesOf("infra/ci", amd64)[1]);
        Assert.Equal(["infra/ci:latest", index, amd64, lostLayer.Digest], lostLayer.Path);
        Assert.Equal(1, forecast.Summary.TaggedImagesBroken);
        Assert.Equal(2, forecast.Summary.ReferencedImagesBroken);
        Assert.All(forecast.Images.Where(i => i.Tag is null), i => Assert.Equal("breaks", i.Status));
    }

    [Fact]
    public void Plain_gc_marks_every_revision_so_nothing_whole_breaks()
    {
        var g = new GraphBuilder();
        g.Index("infra/ci", "latest", g.Image("infra/ci"), g.Image("infra/ci"));
        var untagged = g.Image("infra/ci");

        var forecast = Forecast(g, GcMode.Plain);

        Assert.Equal(GcForecast.Safe, forecast.Result);
        Assert.Equal(0, forecast.ExitCode);
        Assert.Empty(forecast.DeletedManifests);
        Assert.Empty(forecast.DeletedBlobs);
        Assert.Empty(forecast.Images);
        Assert.Equal(0, forecast.Summary.TaggedImagesBroken);
        Assert.NotEmpty(g.ReferencesOf("infra/ci", untagged));
    }

    [Fact]
    public void A_child_that_is_tagged_too_survives_with_its_blobs()
    {
        var g = new GraphBuilder();
        var amd64 = g.Image("app", "amd64");
        var arm64 = g.Image("app");
        g.Index("app", "latest", amd64, arm64);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Equal([arm64], forecast.DeletedManifests.Select(m => m.Digest));
        Assert.DoesNotContain(forecast.DeletedBlobs, b => g.ReferencesOf("app", amd64).Contains(b));
        Assert.Null(forecast.Images.SingleOrDefault(i => i.Tag == "amd64"));
        Assert.Equal("breaks", Assert.Single(forecast.Images, i => i.Tag == "latest").Status);
    }

    [Fact]
    public void A_layer_shared_with_a_kept_image_survives()
    {
        var g = new GraphBuilder();
        var shared = g.Blob("shared-layer");
        g.Image("base", "v1", layers: [shared]);
        var child = g.Image("app", layers: [shared, g.Blob()]);
        g.Index("app", "latest", child);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.DoesNotContain(shared, forecast.DeletedBlobs);
        Assert.Contains(g.ReferencesOf("app", child)[2], forecast.DeletedBlobs);
        var image = Assert.Single(forecast.Images, i => i.Tag == "latest");
        Assert.DoesNotContain(image.Breaks, b => b.Digest == shared);
    }

    [Fact]
    public void A_repository_without_a_tags_directory_fails_the_whole_run_so_nothing_is_deleted()
    {
        var g = new GraphBuilder();
        g.Index("app", "latest", g.Image("app"));
        g.Image("pushed-by-digest");
        g.RemoveTagsDirectory("pushed-by-digest");

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Equal(GcForecast.GcFails, forecast.Result);
        Assert.Equal(0, forecast.ExitCode);
        Assert.Contains("pushed-by-digest", forecast.GcFailure, StringComparison.Ordinal);
        Assert.Empty(forecast.DeletedManifests);
        Assert.Empty(forecast.DeletedBlobs);
        Assert.Equal(0, forecast.Summary.TaggedImagesBroken);
    }

    [Fact]
    public void An_empty_tags_directory_only_makes_every_revision_untagged()
    {
        var g = new GraphBuilder();
        var image = g.Image("app", "v1");
        g.Untag("app", "v1");

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Null(forecast.GcFailure);
        Assert.Equal([image], forecast.DeletedManifests.Select(m => m.Digest));
        Assert.Equal([.. g.ReferencesOf("app", image).Append(image).Order()], forecast.DeletedBlobs);
    }

    [Fact]
    public void A_tagged_index_missing_a_child_already_is_already_broken_not_broken_by_the_gc()
    {
        var g = new GraphBuilder();
        var kept = g.Image("app");
        var gone = g.Image("app");
        g.Index("app", "latest", kept, gone);
        var goneBlobs = g.ReferencesOf("app", gone).Order().ToList();
        g.DeleteManifest("app", gone);

        var forecast = Forecast(g, GcMode.Plain);

        Assert.Equal(GcForecast.Safe, forecast.Result);
        var image = Assert.Single(forecast.Images, i => i.Tag == "latest");
        Assert.Equal("already-broken", image.Status);
        Assert.Contains(image.AlreadyMissing, m => m.Digest == gone && m.Kind == "manifest");
        // The index marks the deleted child's digest (its data stays), not the child's blobs.
        Assert.DoesNotContain(gone, forecast.DeletedBlobs);
        Assert.Equal(goneBlobs, forecast.DeletedBlobs);
        Assert.Equal(1, forecast.Summary.TaggedImagesAlreadyBroken);
    }

    [Fact]
    public void A_nested_index_loses_its_inner_index_and_the_inner_images_manifest_data()
    {
        var g = new GraphBuilder();
        var leaf = g.Image("app");
        var inner = g.Index("app", null, leaf);
        var outer = g.Index("app", "nested", inner);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Equal([inner, leaf], forecast.DeletedManifests.Select(m => m.Digest).OrderBy(d => d == inner ? 0 : 1));
        Assert.DoesNotContain(inner, forecast.DeletedBlobs); // marked by the tagged outer index
        Assert.Contains(leaf, forecast.DeletedBlobs); // the inner index was not kept, so nothing marked the leaf
        var image = Assert.Single(forecast.Images, i => i.Tag == "nested");
        Assert.Equal(["app:nested", outer, inner], Assert.Single(image.Breaks, b => b.Digest == inner).Path);
        Assert.Equal(["app:nested", outer, inner, leaf], Assert.Single(image.Breaks, b => b.Digest == leaf).Path);
    }

    [Theory]
    [InlineData(GcVersion.V2_8)]
    [InlineData(GcVersion.V3)]
    public void An_untagged_referrer_of_a_kept_image_is_deleted_and_reported_without_breaking_the_image(GcVersion version)
    {
        var g = new GraphBuilder();
        var image = g.Image("app", "v1");
        var signature = g.Image("app", subject: image);

        var forecast = Forecast(g, GcMode.DeleteUntagged, version);

        Assert.Equal(GcForecast.Safe, forecast.Result);
        Assert.Equal([signature], forecast.DeletedManifests.Select(m => m.Digest));
        var tagged = Assert.Single(forecast.Images);
        Assert.Equal("intact", tagged.Status);
        var lost = Assert.Single(tagged.LostReferrers);
        Assert.Equal(signature, lost.Digest);
        Assert.Equal(["app:v1", image, signature], lost.Path);
        Assert.Equal(1, forecast.Summary.ReferrersDeleted);
    }

    [Fact]
    public void A_revision_whose_data_is_gone_fails_the_run()
    {
        var g = new GraphBuilder();
        var image = g.Image("app", "v1");
        g.Image("app");
        g.RemoveData(image);

        var forecast = Forecast(g, GcMode.Plain);

        Assert.Equal(GcForecast.GcFails, forecast.Result);
        Assert.Contains(image, forecast.GcFailure, StringComparison.Ordinal);
        Assert.Empty(forecast.DeletedBlobs);
        Assert.Equal("already-broken", Assert.Single(forecast.Images).Status);
    }

    [Fact]
    public void An_incomplete_graph_is_never_a_confident_answer()
    {
        var g = new GraphBuilder();
        g.Index("app", "latest", g.Image("app"));

        var forecast = GcForecaster.Forecast(g.Build(), new GraphCompleteness(["no completed sweep since the Verifier started"]), GcMode.DeleteUntagged, GcVersion.V2_8, "test", DateTimeOffset.UnixEpoch);

        Assert.Equal(GcForecast.Incomplete, forecast.Result);
        Assert.Equal(2, forecast.ExitCode);
        Assert.Equal(["no completed sweep since the Verifier started"], forecast.Gaps);
    }

    [Theory]
    [InlineData("plain", true)]
    [InlineData("delete-untagged", true)]
    [InlineData("-m", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("PLAIN", false)]
    public void Mode_names_are_exact(string? text, bool ok) => Assert.Equal(ok, GcForecaster.TryParseMode(text, out _));

    [Theory]
    [InlineData("2.8", true)]
    [InlineData("3", true)]
    [InlineData("3.x", true)]
    [InlineData("2.7", false)]
    [InlineData("4", false)]
    [InlineData(null, false)]
    public void Version_names_are_exact(string? text, bool ok) => Assert.Equal(ok, GcForecaster.TryParseVersion(text, out _));
}
