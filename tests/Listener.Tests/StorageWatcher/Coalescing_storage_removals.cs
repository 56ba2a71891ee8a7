using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Listener.StorageWatcher;

namespace RegistryIntegrity.Listener.Tests.StorageWatcher;

public sealed class Coalescing_storage_removals
{
    private const string V2 = "docker/registry/v2";
    private static readonly string Hex = new('a', 64), Hex2 = new('b', 64);
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_removed_folder_and_the_files_in_it_are_one_removal_each_kind_named()
    {
        var batch = new RemovalBatch(capacity: 100);
        // As `rm -rf` and the GC report them: the files first, then their folders.
        string[] paths =
        [
            $"{V2}/repositories/team/app/_manifests/revisions/sha256/{Hex}/link",
            $"{V2}/repositories/team/app/_manifests/revisions/sha256/{Hex}",
            $"{V2}/repositories/team/app/_manifests/tags/v1/index/sha256/{Hex}/link",
            $"{V2}/repositories/team/app/_manifests/tags/v1/current/link",
            $"{V2}/repositories/team/app/_manifests/tags/v1/current",
            $"{V2}/repositories/team/app/_manifests/tags/v1",
            $"{V2}/repositories/team/app/_layers/sha256/{Hex2}/link",
            $"{V2}/blobs/sha256/bb/{Hex2}/data",
            $"{V2}/blobs/sha256/bb/{Hex2}",
            $"{V2}/blobs/sha256/bb",
            $"{V2}/repositories/team/app/_uploads/0d6c/data",
        ];
        var reported = paths.Select((p, i) => batch.Add(p, T0.AddMilliseconds(i))).ToList();

        Assert.Equal([true, true, false, true, true, true, true, true, true, false, false], reported);
        var removals = Assert.Single(batch.Take(perMessage: 100));
        Assert.Equal(
            [
                (RemovedObjectKinds.Revision, "team/app", $"sha256:{Hex}", null, T0),
                (RemovedObjectKinds.Tag, "team/app", null, "v1", T0.AddMilliseconds(3)),
                (RemovedObjectKinds.LayerLink, "team/app", $"sha256:{Hex2}", null, T0.AddMilliseconds(6)),
                (RemovedObjectKinds.Blob, null, $"sha256:{Hex2}", null, T0.AddMilliseconds(7)),
            ],
            removals.Select(r => (r.Kind, r.Repository, r.Digest, r.Tag, r.RemovedAt)));
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public void A_flood_is_split_into_messages_and_what_exceeds_the_capacity_is_counted_as_dropped()
    {
        var batch = new RemovalBatch(capacity: 5);
        for (var i = 0; i < 8; i++)
            batch.Add($"{V2}/blobs/sha256/{i:x2}/{i:x2}{new string('0', 62)}/data", T0);

        Assert.Equal(5, batch.Count);
        Assert.Equal(3, batch.Dropped);
        Assert.Equal([2, 2, 1], batch.Take(perMessage: 2).Select(m => m.Count));
        Assert.Equal(0, batch.Dropped);
    }

    [Theory]
    [InlineData("docker/registry/v2/repositories/../../../etc/passwd")]
    [InlineData("/docker/registry/v2/blobs/sha256/aa/" + "aaaa")]
    [InlineData("docker/registry/v2/blobs/sha256/zz/zz")]
    [InlineData("docker/registry/v2/repositories/Team/App/_manifests/tags/v1")]
    [InlineData("")]
    public void A_path_that_names_nothing_of_the_registry_is_ignored(string path)
    {
        var batch = new RemovalBatch(capacity: 5);
        Assert.False(batch.Add(path, T0));
        Assert.Equal(0, batch.Count);
    }
}
