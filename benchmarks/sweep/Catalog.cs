using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Benchmarks.Sweep;

/// <summary>An image (child of an index): its manifest digest, then its config and layer blobs.</summary>
internal sealed record GeneratedImage(string Digest, IReadOnlyList<string> Blobs);

internal sealed record GeneratedIndex(string Digest, IReadOnlyList<GeneratedImage> Children);

/// <summary>One repository as pushed: what a complete sweep has to find there.</summary>
internal sealed record GeneratedRepository(string Name, IReadOnlyDictionary<string, string> Tags, IReadOnlyList<GeneratedIndex> Indexes)
{
    /// <summary>Indexes and child manifests, each once (a manifest counts once however many tags point at it).</summary>
    public IReadOnlyList<string> ManifestDigests { get; } =
        Indexes.SelectMany(i => i.Children.Select(c => c.Digest).Prepend(i.Digest)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Config and layer blobs, each once: shared base layers appear in several images of the repository.</summary>
    public IReadOnlyList<string> BlobDigests { get; } =
        Indexes.SelectMany(i => i.Children).SelectMany(c => c.Blobs).Distinct(StringComparer.Ordinal).ToList();
}

/// <summary>
/// Pushes a catalog of multi-arch indexes through the registry API, shaped like a real registry:
/// repositories of 3 versions (indexes of 2-3 platform images), tags 1.0/1.1/1.2 plus "latest" and
/// "stable" pointing at the same digests as two of them, and images built on a few shared base layers
/// (the same bytes in many repositories) plus 1-2 layers and a config of their own.
/// </summary>
internal static class CatalogGenerator
{
    private const int IndexesPerRepository = 3;
    private const int BaseImages = 6;
    private static readonly string[] Platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le"];

    public static async Task<IReadOnlyList<GeneratedRepository>> PushAsync(Uri registry, int manifests, int seed, int concurrency)
    {
        var shape = Shape(manifests, new Random(seed));
        var baseLayers = BaseLayers(new Random(seed + 1));
        using var pusher = new RegistryPusher(registry);
        var pushed = new ConcurrentDictionary<int, GeneratedRepository>();
        var done = 0;
        var stopwatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, shape.Count), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (r, _) =>
        {
            pushed[r] = await PushRepositoryAsync(pusher, r, shape[r], baseLayers, new Random((seed * 100_003) + r));
            if (Interlocked.Increment(ref done) % 100 == 0)
                Console.WriteLine($"  pushed {done}/{shape.Count} repositories, {stopwatch.Elapsed.TotalSeconds:F0} s");
        });
        return [.. pushed.OrderBy(p => p.Key).Select(p => p.Value)];
    }

    /// <summary>Children per index, per repository: exactly <paramref name="manifests"/> indexes + children in all.</summary>
    private static List<int[]> Shape(int manifests, Random random)
    {
        var repositories = new List<int[]>();
        var remaining = manifests;
        while (remaining > 0)
        {
            var indexes = new List<int>();
            while (indexes.Count < IndexesPerRepository && remaining > 0)
            {
                // 2 or 3 children; at the very end whatever makes the total exact (1 to 4).
                var children = remaining <= 5 ? remaining - 1 : random.Next(2, 4);
                indexes.Add(children);
                remaining -= children + 1;
            }
            repositories.Add([.. indexes]);
        }
        return repositories;
    }

    /// <summary>Per base image and platform, two layers (the same bytes wherever they are used).</summary>
    private static byte[][][][] BaseLayers(Random random) =>
        [.. Enumerable.Range(0, BaseImages).Select(_ =>
            Platforms.Select(_ => new[] { Bytes(random, 4096), Bytes(random, 2048) }).ToArray())];

    private static async Task<GeneratedRepository> PushRepositoryAsync(
        RegistryPusher pusher, int number, int[] childrenPerIndex, byte[][][][] baseLayers, Random random)
    {
        var name = $"bench/app-{number:D4}";
        var oci = number % 2 == 0;
        var (indexType, imageType, configType, layerType) = oci
            ? (MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.OciConfig, MediaTypes.OciLayer)
            : (MediaTypes.DockerManifestList, MediaTypes.DockerManifest, MediaTypes.DockerConfig, MediaTypes.DockerLayer);
        var baseImage = baseLayers[number % BaseImages];
        var baseDepth = random.Next(1, 3);

        // Each blob is uploaded once per repository; the registry stores shared bytes once on disk.
        var uploaded = new Dictionary<string, Descriptor>(StringComparer.Ordinal);
        async Task<Descriptor> BlobAsync(byte[] content, string mediaType)
        {
            var digest = RegistryPusher.ComputeDigest(content);
            if (!uploaded.TryGetValue(digest, out var descriptor))
                uploaded[digest] = descriptor = await pusher.PushBlobAsync(name, content, mediaType);
            return descriptor;
        }

        var indexes = new List<GeneratedIndex>();
        var indexBodies = new List<byte[]>();
        for (var version = 0; version < childrenPerIndex.Length; version++)
        {
            var children = new List<GeneratedImage>();
            var entries = new JsonArray();
            for (var c = 0; c < childrenPerIndex[version]; c++)
            {
                var platform = Platforms[c];
                var layers = new List<Descriptor>();
                foreach (var layer in baseImage[c].Take(baseDepth))
                    layers.Add(await BlobAsync(layer, layerType));
                for (var u = random.Next(1, 3); u > 0; u--)
                    layers.Add(await BlobAsync(Bytes(random, random.Next(512, 2049)), layerType));
                var config = await BlobAsync(Config(name, version, platform, layers), configType);
                var manifest = Json(new JsonObject
                {
                    ["schemaVersion"] = 2,
                    ["mediaType"] = imageType,
                    ["config"] = DescriptorJson(config),
                    ["layers"] = new JsonArray([.. layers.Select(DescriptorJson)]),
                });
                var digest = await pusher.PushManifestAsync(name, RegistryPusher.ComputeDigest(manifest), imageType, manifest);
                children.Add(new GeneratedImage(digest, [config.Digest, .. layers.Select(l => l.Digest)]));
                var entry = DescriptorJson(new Descriptor(imageType, digest, manifest.Length));
                entry["platform"] = PlatformJson(platform);
                entries.Add(entry);
            }
            var index = Json(new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = indexType, ["manifests"] = entries });
            var indexDigest = await pusher.PushManifestAsync(name, $"1.{version}", indexType, index);
            indexes.Add(new GeneratedIndex(indexDigest, children));
            indexBodies.Add(index);
        }

        var tags = indexes.Select((index, version) => (Tag: $"1.{version}", index.Digest)).ToDictionary(t => t.Tag, t => t.Digest);
        foreach (var (tag, version) in new[] { ("latest", indexes.Count - 1), ("stable", Math.Max(0, indexes.Count - 2)) })
        {
            await pusher.PushManifestAsync(name, tag, indexType, indexBodies[version]);
            tags[tag] = indexes[version].Digest;
        }
        return new GeneratedRepository(name, tags, indexes);
    }

    private static byte[] Config(string repository, int version, string platform, List<Descriptor> layers)
    {
        var parts = platform.Split('/');
        var config = new JsonObject
        {
            ["architecture"] = parts[1],
            ["os"] = parts[0],
            ["config"] = new JsonObject { ["Labels"] = new JsonObject { ["bench.image"] = $"{repository}:1.{version} {platform}" } },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. layers.Select(l => JsonValue.Create(l.Digest))]) },
        };
        if (parts.Length == 3)
            config["variant"] = parts[2];
        return Json(config);
    }

    private static JsonObject PlatformJson(string platform)
    {
        var parts = platform.Split('/');
        var json = new JsonObject { ["architecture"] = parts[1], ["os"] = parts[0] };
        if (parts.Length == 3)
            json["variant"] = parts[2];
        return json;
    }

    private static JsonObject DescriptorJson(Descriptor d) => new() { ["mediaType"] = d.MediaType, ["digest"] = d.Digest, ["size"] = d.Size };

    private static byte[] Json(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    private static byte[] Bytes(Random random, int size)
    {
        var bytes = new byte[size];
        random.NextBytes(bytes);
        return bytes;
    }
}
