using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.RegistryStorage;

namespace RegistryIntegrity.Benchmarks.GcForecast;

/// <summary>
/// The GC forecast from the registry's storage: a filesystem storage tree of N manifests is generated in a temp
/// directory on local disk (the store benchmark's shape: per image set a tagged OCI index, two platform images and an
/// attestation, each image with its own config and layer and its repository's shared base layer; 1 000
/// repositories), then read by <see cref="StorageGraphSource"/> and forecast for plain and --delete-untagged GC on
/// 2.8. The same-run baseline is a plain walk of the same tree: every file listed, every link file and every
/// manifest's data read (the least any exact reader must touch). The tree is deleted afterwards.
/// </summary>
internal static class StorageBenchmark
{
    public static async Task RunAsync(int manifests)
    {
        var sets = manifests / 4;
        var root = Directory.CreateTempSubdirectory("rit-gc-forecast-storage-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var files = Generate(root, sets);
            Console.WriteLine($"generated {sets * 4} manifests in {sets} image sets, {files} files, in {clock.Elapsed.TotalSeconds:F1} s under {root}");
            var workingSetBefore = Process.GetCurrentProcess().WorkingSet64;
            Console.WriteLine($"working set before reading: {workingSetBefore / 1048576.0:F0} MiB");

            for (var round = 1; round <= 2; round++)
            {
                GC.Collect();
                clock.Restart();
                var (walked, bytes) = PlainWalk(root);
                var walk = clock.Elapsed;
                Console.WriteLine($"round {round}: plain walk {walk.TotalSeconds:F1} s ({walked} files, {bytes / 1048576.0:F1} MiB of links and manifests read)");

                GC.Collect();
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                clock.Restart();
                var source = new StorageGraphSource(new FileSystemRegistryStorage(root), 4 * 1024 * 1024);
                var (graph, completeness) = await source.ReadAsync(CancellationToken.None);
                var read = clock.Elapsed;
                var plain = GcForecaster.Forecast(graph, completeness, GcMode.Plain, GcVersion.V2_8, source.Name, DateTimeOffset.UtcNow);
                var plainAt = clock.Elapsed;
                var untagged = GcForecaster.Forecast(graph, completeness, GcMode.DeleteUntagged, GcVersion.V2_8, source.Name, DateTimeOffset.UtcNow);
                var total = clock.Elapsed;
                var heap = GC.GetTotalMemory(forceFullCollection: true);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round}: storage read {read.TotalSeconds:F1} s, plain forecast {(plainAt - read).TotalSeconds:F1} s ({plain.Result}), " +
                    $"-m forecast {(total - plainAt).TotalSeconds:F1} s ({untagged.Result}, {untagged.Summary.TaggedImagesBroken} tagged images broken, {untagged.DeletedBlobs.Count} blobs); " +
                    $"total {total.TotalSeconds:F1} s = {total / walk:F1}x the plain walk; allocated {(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / 1048576.0:F0} MiB, " +
                    $"live heap with the graph {heap / 1048576.0:F0} MiB, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB"));
                if (!completeness.IsComplete || plain.Result != "safe" || untagged.Summary.TaggedImagesBroken != sets)
                    throw new InvalidOperationException($"unexpected forecast: {plain.Result}, {untagged.Result}, {string.Join("; ", completeness.Gaps)}");
                GC.KeepAlive(graph);
            }
        }
        finally
        {
            var clock = Stopwatch.StartNew();
            Directory.Delete(root, recursive: true);
            Console.WriteLine($"deleted the tree in {clock.Elapsed.TotalSeconds:F1} s");
        }
    }

    private static int Generate(string root, int sets)
    {
        var files = 0;
        void Write(string relative, string content)
        {
            var path = RegistryStorageLayout.ToFullPath(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
            files++;
        }
        string Blob(string content)
        {
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
            Write(RegistryStorageLayout.BlobDataPath(digest), content);
            return digest;
        }
        string Descriptor(string mediaType, string digest) => $$"""{"mediaType":"{{mediaType}}","digest":"{{digest}}","size":1}""";

        var bases = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var s = 0; s < sets; s++)
        {
            var repository = $"team{s % 1000}/app";
            if (!bases.TryGetValue(repository, out var baseLayer))
            {
                bases[repository] = baseLayer = Blob($"base layer of {repository}");
                Write(RegistryStorageLayout.LayerLinkPath(repository, baseLayer), baseLayer);
            }
            var children = new List<string>();
            for (var m = 1; m < 4; m++)
            {
                var config = Blob($"{{\"config\":\"{s}-{m}\"}}");
                var layer = Blob($"layer {s}-{m}");
                Write(RegistryStorageLayout.LayerLinkPath(repository, config), config);
                Write(RegistryStorageLayout.LayerLinkPath(repository, layer), layer);
                var image = Blob($$"""
                    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{Descriptor("application/vnd.oci.image.config.v1+json", config)}},"layers":[{{Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", baseLayer)}},{{Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)}}]}
                    """);
                Write(RegistryStorageLayout.RevisionLinkPath(repository, image), image);
                children.Add(image);
            }
            var index = Blob($$"""
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{string.Join(",", children.Select(c => Descriptor("application/vnd.oci.image.manifest.v1+json", c)))}}]}
                """);
            Write(RegistryStorageLayout.RevisionLinkPath(repository, index), index);
            Write(RegistryStorageLayout.TagCurrentLinkPath(repository, $"v{s}"), index);
            Write(RegistryStorageLayout.TagIndexLinkPath(repository, $"v{s}", index), index);
        }
        return files;
    }

    /// <summary>Lists every file of the tree and reads every link and every manifest's data: the floor of any exact reader.</summary>
    private static (int Files, long Bytes) PlainWalk(string root)
    {
        var count = 0;
        long bytes = 0;
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            count++;
            if (file.EndsWith("/link", StringComparison.Ordinal))
            {
                var digest = File.ReadAllText(file);
                bytes += digest.Length;
                if (file.Contains("/_manifests/revisions/", StringComparison.Ordinal))
                    bytes += File.ReadAllBytes(RegistryStorageLayout.ToFullPath(root, RegistryStorageLayout.BlobDataPath(digest))).Length;
            }
        }
        return (count, bytes);
    }
}
