using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Benchmarks.Verifier;

/// <summary>One pushed index: its digest and the requests a complete walk of it makes.</summary>
internal sealed record PushedTree(string Repository, string Digest, IReadOnlyList<string> ManifestDigests, IReadOnlyList<string> BlobDigests);

/// <summary>
/// The benchmark catalog: repositories x tags of OCI indexes with three platform images each.
/// Every image of a repository shares one base layer; each also has its own config and top layer.
/// </summary>
internal static class Catalog
{
    private static readonly string[] Platforms = ["linux/amd64", "linux/arm64", "linux/s390x"];

    public static async Task<List<PushedTree>> PushAsync(RegistryPusher pusher, int repositories, int tags)
    {
        var trees = new List<PushedTree>();
        await Parallel.ForEachAsync(Enumerable.Range(0, repositories), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (r, _) =>
        {
            var repository = $"bench/app{r:D3}";
            var baseLayer = await pusher.PushRandomBlobAsync(repository, 4096, MediaTypes.OciLayer);
            for (var t = 0; t < tags; t++)
            {
                var tree = await PushIndexAsync(pusher, repository, $"v{t}", baseLayer);
                lock (trees)
                    trees.Add(tree);
            }
        });
        return trees;
    }

    private static async Task<PushedTree> PushIndexAsync(RegistryPusher pusher, string repository, string tag, Descriptor baseLayer)
    {
        var children = new JsonArray();
        var manifests = new List<string>();
        var blobs = new List<string> { baseLayer.Digest };
        foreach (var platform in Platforms)
        {
            var (os, architecture) = (platform.Split('/')[0], platform.Split('/')[1]);
            var top = await pusher.PushRandomBlobAsync(repository, 2048, MediaTypes.OciLayer);
            var config = await pusher.PushBlobAsync(repository, Encoding.UTF8.GetBytes(new JsonObject
            {
                ["architecture"] = architecture,
                ["os"] = os,
                ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(baseLayer.Digest, top.Digest) },
                ["created"] = DateTimeOffset.UtcNow.ToString("O"),
            }.ToJsonString()), MediaTypes.OciConfig);
            var manifest = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = MediaTypes.OciManifest,
                ["config"] = Json(config),
                ["layers"] = new JsonArray(Json(baseLayer), Json(top)),
            }.ToJsonString());
            var digest = await pusher.PushManifestAsync(repository, RegistryPusher.ComputeDigest(manifest), MediaTypes.OciManifest, manifest);
            var entry = Json(new Descriptor(MediaTypes.OciManifest, digest, manifest.Length));
            entry["platform"] = new JsonObject { ["os"] = os, ["architecture"] = architecture };
            children.Add(entry);
            manifests.Add(digest);
            blobs.Add(config.Digest);
            blobs.Add(top.Digest);
        }
        var index = Encoding.UTF8.GetBytes(new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaTypes.OciIndex, ["manifests"] = children }.ToJsonString());
        var indexDigest = await pusher.PushManifestAsync(repository, tag, MediaTypes.OciIndex, index);
        return new PushedTree(repository, indexDigest, [indexDigest, .. manifests], blobs);
    }

    private static JsonObject Json(Descriptor descriptor) =>
        new() { ["mediaType"] = descriptor.MediaType, ["digest"] = descriptor.Digest, ["size"] = descriptor.Size };
}
