using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests.GcForecast;

/// <summary>
/// A seeded random catalog pushed through the registry's API: single images (OCI and Docker), OCI indexes with
/// attestation children, Docker manifest lists, nested indexes, children that are tagged too, layers shared between
/// images and repositories, untagged OCI 1.1 referrers, repositories only ever pushed by digest; then manifests
/// deleted through the API (with their tags) and tag directories removed on disk behind the registry's back.
/// </summary>
internal sealed class RandomCatalog(RegistryPusher registry, Random random, int seed, string storage, int maxItems)
{
    private const string OciIndex = MediaTypes.OciIndex, OciManifest = MediaTypes.OciManifest;
    private readonly List<byte[]> _layerPool = [];
    private int _tags;

    public sealed record Pushed(string Repository, string Digest, string MediaType, long Size);

    /// <summary>Every manifest PUT (their push events give each a verdict).</summary>
    public List<Pushed> Manifests { get; } = [];

    public List<Pushed> Deleted { get; } = [];

    public List<string> Operations { get; } = [];

    public async Task BuildAsync()
    {
        var repositories = Enumerable.Range(0, random.Next(2, 4)).Select(i => $"gc{seed}/r{i}").ToList();
        foreach (var repository in repositories)
        {
            for (var item = random.Next(2, maxItems + 1); item > 0; item--)
                await ItemAsync(repository);
        }
        if (random.Next(4) == 0)
        {
            // Only ever pushed by digest: no tags directory at all (2.8's GC -m fails on it).
            await ImageAsync($"gc{seed}/by-digest", tag: null, oci: true);
            Operations.Add("digest-only repository");
        }
    }

    public async Task MutateAsync()
    {
        for (var i = random.Next(0, 3); i > 0 && Manifests.Count > 0; i--)
        {
            var victim = Manifests[random.Next(Manifests.Count)];
            if (Deleted.Any(d => d.Repository == victim.Repository && d.Digest == victim.Digest))
                continue;
            await registry.DeleteManifestAsync(victim.Repository, victim.Digest);
            Deleted.Add(victim);
            Operations.Add($"DELETE {victim.Repository}@{victim.Digest[..19]}");
        }
        var tagDirectories = Directory.GetDirectories(Path.Combine(storage, "repositories"), "tags", SearchOption.AllDirectories)
            .Where(d => Path.GetFileName(Path.GetDirectoryName(d)) == "_manifests")
            .SelectMany(Directory.GetDirectories).Order(StringComparer.Ordinal).ToList();
        for (var i = random.Next(0, 4); i > 0 && tagDirectories.Count > 0; i--)
        {
            var tag = tagDirectories[random.Next(tagDirectories.Count)];
            tagDirectories.Remove(tag);
            Directory.Delete(tag, recursive: true);
            Operations.Add($"rm -r {Path.GetRelativePath(storage, tag)}");
        }
        if (random.Next(6) == 0)
        {
            var all = Directory.GetDirectories(Path.Combine(storage, "repositories"), "tags", SearchOption.AllDirectories)
                .Where(d => Path.GetFileName(Path.GetDirectoryName(d)) == "_manifests").Order(StringComparer.Ordinal).ToList();
            if (all.Count > 0)
            {
                var whole = all[random.Next(all.Count)];
                Directory.Delete(whole, recursive: true);
                Operations.Add($"rm -r {Path.GetRelativePath(storage, whole)}");
            }
        }
    }

    private string? Tag(int percent) => random.Next(100) < percent ? $"t{++_tags}" : null;

    private async Task ItemAsync(string repository)
    {
        switch (random.Next(100))
        {
            case < 25:
                await ImageAsync(repository, Tag(70), oci: random.Next(2) == 0);
                break;
            case < 50:
                await IndexAsync(repository, Tag(85), oci: true, platforms: random.Next(1, 3), attestation: random.Next(2) == 0);
                break;
            case < 62:
                await IndexAsync(repository, Tag(85), oci: false, platforms: random.Next(1, 3), attestation: false);
                break;
            case < 74:
                var inner = await IndexAsync(repository, null, oci: true, platforms: random.Next(1, 3), attestation: random.Next(2) == 0);
                var sibling = await ImageAsync(repository, null, oci: true);
                await PushIndexAsync(repository, Tag(90), OciIndex, [inner, sibling]);
                Operations.Add("nested index");
                break;
            case < 86:
                var index = await IndexAsync(repository, Tag(90), oci: true, platforms: 2, attestation: false);
                var child = index.Children[random.Next(index.Children.Count)];
                await PushBodyAsync(repository, $"t{++_tags}", child.MediaType, child.Body);
                Operations.Add("child tagged too");
                break;
            default:
                var subjects = Manifests.Where(m => m.Repository == repository && m.MediaType == OciManifest).ToList();
                if (subjects.Count == 0)
                {
                    await ImageAsync(repository, Tag(70), oci: true);
                    break;
                }
                await ImageAsync(repository, Tag(20), oci: true, subject: subjects[random.Next(subjects.Count)]);
                Operations.Add("referrer");
                break;
        }
    }

    private sealed record Built(string Digest, string MediaType, byte[] Body, IReadOnlyList<Built> Children);

    private async Task<Built> ImageAsync(string repository, string? tag, bool oci, Pushed? subject = null, bool attestation = false)
    {
        var configType = oci ? MediaTypes.OciConfig : MediaTypes.DockerConfig;
        var config = await registry.PushBlobAsync(repository, Encoding.UTF8.GetBytes(
            $$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},"seed":"{{Convert.ToHexString(RandomBytes(8))}}"}"""));
        var layers = new JsonArray();
        for (var i = random.Next(1, 3); i > 0; i--)
        {
            byte[] content;
            if (_layerPool.Count > 0 && random.Next(3) == 0)
                content = _layerPool[random.Next(_layerPool.Count)];
            else
                _layerPool.Add(content = RandomBytes(random.Next(64, 512)));
            var layer = await registry.PushBlobAsync(repository, content);
            var layerType = attestation ? MediaTypes.InToto : oci ? MediaTypes.OciLayer : MediaTypes.DockerLayer;
            layers.Add(Descriptor(layerType, layer.Digest, layer.Size));
        }
        var mediaType = oci ? OciManifest : MediaTypes.DockerManifest;
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = mediaType,
            ["config"] = Descriptor(configType, config.Digest, config.Size),
            ["layers"] = layers,
        };
        if (subject is not null)
            manifest["subject"] = Descriptor(subject.MediaType, subject.Digest, subject.Size);
        var body = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var digest = await PushBodyAsync(repository, tag, mediaType, body);
        return new Built(digest, mediaType, body, []);
    }

    private async Task<Built> IndexAsync(string repository, string? tag, bool oci, int platforms, bool attestation)
    {
        var children = new List<Built>();
        for (var i = 0; i < platforms; i++)
            children.Add(await ImageAsync(repository, null, oci));
        if (attestation)
            children.Add(await ImageAsync(repository, null, oci: true, attestation: true));
        return await PushIndexAsync(repository, tag, oci ? OciIndex : MediaTypes.DockerManifestList, children);
    }

    private async Task<Built> PushIndexAsync(string repository, string? tag, string mediaType, IReadOnlyList<Built> children)
    {
        var entries = new JsonArray();
        foreach (var child in children)
        {
            var entry = Descriptor(child.MediaType, child.Digest, child.Body.Length);
            entry["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = "amd64" };
            entries.Add(entry);
        }
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = mediaType, ["manifests"] = entries }.ToJsonString());
        var digest = await PushBodyAsync(repository, tag, mediaType, body);
        return new Built(digest, mediaType, body, children);
    }

    private async Task<string> PushBodyAsync(string repository, string? tag, string mediaType, byte[] body)
    {
        var digest = await registry.PushManifestAsync(repository, tag ?? RegistryPusher.ComputeDigest(body), mediaType, body);
        Manifests.Add(new Pushed(repository, digest, mediaType, body.Length));
        return digest;
    }

    private static JsonObject Descriptor(string mediaType, string digest, long size) =>
        new() { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
