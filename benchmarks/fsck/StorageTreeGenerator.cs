using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Benchmarks.Fsck;

internal sealed record GeneratedTree(int Repositories, int Tags, int Manifests, int Blobs, int LayerLinks)
{
    /// <summary>Manifests and blobs: the objects the registry stores.</summary>
    public int Objects => Manifests + Blobs;
}

/// <summary>
/// Writes a registry storage tree straight to disk in distribution's layout (what a registry 2.8.2 writes when
/// the same images are pushed, link files and all), because pushing 10 000 manifests through the API would take
/// longer than everything measured. Each repository holds tagged OCI indexes of 4 platform images; each image has
/// its own config and layer, a quarter of them a second layer, and all share the repository's base layer.
/// </summary>
internal static class StorageTreeGenerator
{
    private const int ChildrenPerIndex = 4;
    private static readonly string[] Platforms = ["amd64", "arm64", "s390x", "ppc64le"];

    public static GeneratedTree Write(string root, int manifests, int repositories, int seed)
    {
        var random = new Random(seed);
        var indexesPerRepository = Math.Max(1, manifests / (ChildrenPerIndex + 1) / repositories);
        int tags = 0, manifestCount = 0, blobs = 0, layerLinks = 0;
        for (var r = 0; r < repositories; r++)
        {
            var repository = $"bench/app-{r:D4}";
            var baseLayer = WriteBlob(root, RandomBytes(random, 2048));
            blobs++;
            var repositoryBlobs = new List<(string Digest, long Size)> { baseLayer };
            for (var i = 0; i < indexesPerRepository; i++)
            {
                var children = new JsonArray();
                for (var c = 0; c < ChildrenPerIndex; c++)
                {
                    var config = WriteBlob(root, Encoding.UTF8.GetBytes(new JsonObject
                    {
                        ["architecture"] = Platforms[c],
                        ["os"] = "linux",
                        ["rootfs"] = new JsonObject { ["type"] = "layers" },
                        ["config"] = new JsonObject { ["Labels"] = new JsonObject { ["build"] = random.NextInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) } },
                    }.ToJsonString()));
                    var layers = new List<(string Digest, long Size)> { baseLayer, WriteBlob(root, RandomBytes(random, 512 + random.Next(512))) };
                    if (random.Next(4) == 0)
                        layers.Add(WriteBlob(root, RandomBytes(random, 256)));
                    blobs += layers.Count; // the new layers and the config (the base layer is counted once above)
                    repositoryBlobs.Add(config);
                    repositoryBlobs.AddRange(layers.Skip(1));
                    var image = new JsonObject
                    {
                        ["schemaVersion"] = 2,
                        ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                        ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", config),
                        ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", l))]),
                    };
                    var imageBlob = WriteBlob(root, Encoding.UTF8.GetBytes(image.ToJsonString()));
                    WriteLink(root, RegistryStorageLayout.RevisionLinkPath(repository, imageBlob.Digest), imageBlob.Digest);
                    manifestCount++;
                    var entry = Descriptor("application/vnd.oci.image.manifest.v1+json", imageBlob);
                    entry["platform"] = new JsonObject { ["architecture"] = Platforms[c], ["os"] = "linux" };
                    children.Add(entry);
                }
                var index = new JsonObject
                {
                    ["schemaVersion"] = 2,
                    ["mediaType"] = "application/vnd.oci.image.index.v1+json",
                    ["manifests"] = children,
                };
                var indexBlob = WriteBlob(root, Encoding.UTF8.GetBytes(index.ToJsonString()));
                WriteLink(root, RegistryStorageLayout.RevisionLinkPath(repository, indexBlob.Digest), indexBlob.Digest);
                manifestCount++;
                var tag = $"1.{i}";
                WriteLink(root, RegistryStorageLayout.TagCurrentLinkPath(repository, tag), indexBlob.Digest);
                WriteLink(root, RegistryStorageLayout.TagIndexLinkPath(repository, tag, indexBlob.Digest), indexBlob.Digest);
                tags++;
            }
            // Manifests are blobs too (counted in manifestCount); layer links exist for configs and layers.
            foreach (var blob in repositoryBlobs.DistinctBy(b => b.Digest))
            {
                WriteLink(root, RegistryStorageLayout.LayerLinkPath(repository, blob.Digest), blob.Digest);
                layerLinks++;
            }
        }
        return new GeneratedTree(repositories, tags, manifestCount, blobs, layerLinks);
    }

    private static JsonObject Descriptor(string mediaType, (string Digest, long Size) blob) =>
        new() { ["mediaType"] = mediaType, ["digest"] = blob.Digest, ["size"] = blob.Size };

    private static byte[] RandomBytes(Random random, int size)
    {
        var bytes = new byte[size];
        random.NextBytes(bytes);
        return bytes;
    }

    private static (string Digest, long Size) WriteBlob(string root, byte[] content)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
        var path = RegistryStorageLayout.ToFullPath(root, RegistryStorageLayout.BlobDataPath(digest));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return (digest, content.Length);
    }

    private static void WriteLink(string root, string relative, string digest)
    {
        var path = RegistryStorageLayout.ToFullPath(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, digest);
    }
}
