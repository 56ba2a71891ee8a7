using RegistryIntegrity.Verifier.Forecast;

namespace RegistryIntegrity.Verifier.Tests.Forecast;

/// <summary>
/// No 3.x registry binary exists on this machine, so the 3.x semantics are proven against the cases of
/// distribution 3.x's own GC tests (registry/storage/garbagecollect_test.go), each named after the upstream test
/// and asserting what it asserts (plus what the mark phase implies for the objects it does not check).
/// </summary>
public sealed class Forecasting_a_3x_garbage_collection
{
    private static GcForecast Forecast(GraphBuilder g, GcMode mode, GcVersion version = GcVersion.V3) => g.Forecast(mode, version);

    [Fact]
    public void TestNoDeletionNoEffect_plain_gc_with_an_untagged_list_deletes_nothing()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("palailogos");
        var image2 = g.Image("palailogos");
        g.Image("palailogos");
        g.Index("palailogos", null, image1, image2);

        var forecast = Forecast(g, GcMode.Plain);

        Assert.Empty(forecast.DeletedBlobs);
        Assert.Empty(forecast.DeletedManifests);
    }

    [Fact]
    public void TestDeleteManifestIfTagNotFound_delete_untagged_removes_every_untagged_manifest_and_blob()
    {
        var g = new GraphBuilder();
        var manifest1 = g.Image("deletemanifests");
        var manifest2 = g.Image("deletemanifests");
        // Upstream tags each revision "test" in turn while enumerating them: the tag ends on the last in digest order.
        var last = string.CompareOrdinal(manifest1, manifest2) > 0 ? manifest1 : manifest2;
        var first = last == manifest1 ? manifest2 : manifest1;
        g.Tag("deletemanifests", "test", last);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        // Upstream asserts only that blobs and manifests both shrank.
        Assert.Equal([first], forecast.DeletedManifests.Select(m => m.Digest));
        Assert.Equal([.. g.ReferencesOf("deletemanifests", first).Append(first).Order()], forecast.DeletedBlobs);
    }

    [Fact]
    public void TestDeleteManifestIndexWithDanglingReferences_a_tagged_index_keeps_its_manifests_while_the_deleted_childs_blobs_go()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("deletemanifests");
        var image2 = g.Image("deletemanifests");
        var index = g.Index("deletemanifests", "test", image1, image2);
        var image2Blobs = g.ReferencesOf("deletemanifests", image2).Order().ToList();
        g.DeleteManifest("deletemanifests", image2);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Empty(forecast.DeletedManifests); // upstream: manifest count unchanged
        Assert.Equal(image2Blobs, forecast.DeletedBlobs); // upstream: blob count changed; image2's data is marked by the index
        Assert.Equal("already-broken", Assert.Single(forecast.Images, i => i.Digest == index).Status);
    }

    [Fact]
    public void TestDeleteManifestIndexIfTagNotFound_a_tagged_index_keeps_everything_and_once_untagged_everything_goes()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("deletemanifests");
        var image2 = g.Image("deletemanifests");
        var index = g.Index("deletemanifests", "test", image1, image2);

        var tagged = Forecast(g, GcMode.DeleteUntagged);
        g.Untag("deletemanifests", "test");
        var untagged = Forecast(g, GcMode.DeleteUntagged);

        Assert.Empty(tagged.DeletedBlobs);
        Assert.Empty(tagged.DeletedManifests);
        Assert.Equal(GcForecast.Safe, tagged.Result);
        Assert.Equal(new[] { image1, image2, index }.Order(), untagged.DeletedManifests.Select(m => m.Digest).Order());
        Assert.Equal(g.Blobs.Order(), untagged.DeletedBlobs);
    }

    [Fact]
    public void TestGCWithUnknownRepository_a_repository_without_a_tags_directory_is_not_an_error()
    {
        var g = new GraphBuilder();
        var image = g.Image("nonexistentrepo", "image");
        g.RemoveTagsDirectory("nonexistentrepo");

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Null(forecast.GcFailure); // upstream: no error
        // The revision is neither marked nor deleted: its link stays and its data is swept.
        Assert.Empty(forecast.DeletedManifests);
        Assert.Contains(image, forecast.DeletedBlobs);
        // 2.8 fails the whole run instead.
        Assert.NotNull(Forecast(g, GcMode.DeleteUntagged, GcVersion.V2_8).GcFailure);
    }

    [Fact]
    public void TestGCWithMissingManifests_without_a_manifests_directory_every_blob_goes()
    {
        var g = new GraphBuilder();
        g.Image("testrepo");
        g.RemoveRevisions("testrepo");

        var forecast = Forecast(g, GcMode.Plain);

        Assert.Null(forecast.GcFailure);
        Assert.Equal(g.Blobs.Order(), forecast.DeletedBlobs);
    }

    [Fact]
    public void TestDeletionHasEffect_deleted_manifests_lose_their_blobs_and_the_kept_one_keeps_its_own()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("komnenos");
        var image2 = g.Image("komnenos");
        var image3 = g.Image("komnenos");
        var image1Blobs = g.ReferencesOf("komnenos", image1);
        var gone = g.ReferencesOf("komnenos", image2).Concat(g.ReferencesOf("komnenos", image3)).ToList();
        g.DeleteManifest("komnenos", image2).DeleteManifest("komnenos", image3);

        var forecast = Forecast(g, GcMode.Plain);

        Assert.DoesNotContain(image1, forecast.DeletedBlobs);
        Assert.All(image1Blobs, b => Assert.DoesNotContain(b, forecast.DeletedBlobs));
        Assert.All(gone, b => Assert.Contains(b, forecast.DeletedBlobs));
    }

    [Fact]
    public void TestDeletionWithSharedLayer_a_layer_shared_with_a_kept_manifest_stays()
    {
        var g = new GraphBuilder();
        var shared = g.Blob("shared");
        var manifest1 = g.Image("tzimiskes", layers: [g.Blob(), g.Blob(), shared]);
        var manifest2 = g.Image("tzimiskes", layers: [g.Blob(), g.Blob(), g.Blob(), shared]);
        g.DeleteManifest("tzimiskes", manifest2);

        var forecast = Forecast(g, GcMode.Plain);

        Assert.All(g.ReferencesOf("tzimiskes", manifest1), b => Assert.DoesNotContain(b, forecast.DeletedBlobs));
    }

    [Fact]
    public void TestOrphanBlobDeleted_a_blob_no_manifest_references_goes()
    {
        var g = new GraphBuilder();
        var orphan = g.Blob("orphan");
        g.Image("michael_z_doukas");

        var forecast = Forecast(g, GcMode.Plain);

        Assert.Equal([orphan], forecast.DeletedBlobs);
    }

    [Fact]
    public void TestTaggedManifestlistWithUntaggedManifest_3x_keeps_the_untagged_children_of_a_tagged_list()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("foo/taggedlist/untaggedmanifest");
        var image2 = g.Image("foo/taggedlist/untaggedmanifest");
        g.Index("foo/taggedlist/untaggedmanifest", "test", image1, image2);

        var forecast = Forecast(g, GcMode.DeleteUntagged);
        var on28 = Forecast(g, GcMode.DeleteUntagged, GcVersion.V2_8);

        Assert.Empty(forecast.DeletedBlobs); // upstream: storage unaffected
        Assert.Empty(forecast.DeletedManifests);
        Assert.Equal(GcForecast.Safe, forecast.Result);
        Assert.Equal(GcForecast.WouldBreak, on28.Result); // the bug #4285 fixed
    }

    [Fact]
    public void TestUnTaggedManifestlistWithUntaggedManifest_everything_untagged_goes()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("foo/untaggedlist/untaggedmanifest");
        var image2 = g.Image("foo/untaggedlist/untaggedmanifest");
        g.Index("foo/untaggedlist/untaggedmanifest", null, image1, image2);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Equal(g.Blobs.Order(), forecast.DeletedBlobs); // upstream: no blob left
        Assert.Equal(3, forecast.DeletedManifests.Count);
    }

    [Fact]
    public void TestUnTaggedManifestlistWithTaggedManifest_the_untagged_list_goes_and_its_tagged_children_stay()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("foo/untaggedlist/taggedmanifest", "image1");
        var image2 = g.Image("foo/untaggedlist/taggedmanifest", "image2");
        var list = g.Index("foo/untaggedlist/taggedmanifest", null, image1, image2);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Equal([list], forecast.DeletedBlobs);
        Assert.Equal([list], forecast.DeletedManifests.Select(m => m.Digest));
        Assert.Equal(GcForecast.Safe, forecast.Result);
    }

    [Fact]
    public void TestTaggedManifestlistWithDeletedReference_an_untagged_list_of_deleted_images_leaves_nothing()
    {
        var g = new GraphBuilder();
        var image1 = g.Image("foo/untaggedlist/deleteref");
        var image2 = g.Image("foo/untaggedlist/deleteref");
        g.Index("foo/untaggedlist/deleteref", null, image1, image2);
        g.DeleteManifest("foo/untaggedlist/deleteref", image1).DeleteManifest("foo/untaggedlist/deleteref", image2);

        var forecast = Forecast(g, GcMode.DeleteUntagged);

        Assert.Equal(g.Blobs.Order(), forecast.DeletedBlobs); // upstream: no blob left
    }
}
