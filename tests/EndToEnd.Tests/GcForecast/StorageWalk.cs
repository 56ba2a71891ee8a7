using System.Text.Json;

namespace RegistryIntegrity.EndToEnd.Tests.GcForecast;

/// <summary>
/// An independent oracle: reads registry 2.8's filesystem storage the way the registry serves it. A manifest is
/// pullable from a repository when its revision link and its data exist; a blob when the repository's layer link
/// and its data exist. A tagged image is pullable when its tag's current link names a pullable manifest whose whole
/// tree (child manifests, configs, layers) is pullable.
/// </summary>
internal sealed class StorageWalk
{
    private readonly string _root;

    public StorageWalk(string v2Root)
    {
        _root = v2Root;
        var blobs = Path.Combine(v2Root, "blobs", "sha256");
        Blobs = Directory.Exists(blobs)
            ? Directory.GetDirectories(blobs).SelectMany(Directory.GetDirectories)
                .Where(d => File.Exists(Path.Combine(d, "data"))).Select(d => "sha256:" + Path.GetFileName(d)).ToHashSet(StringComparer.Ordinal)
            : [];
        var repositories = Path.Combine(v2Root, "repositories");
        Repositories = Directory.Exists(repositories)
            ? Directory.GetDirectories(repositories, "_manifests", SearchOption.AllDirectories)
                .Select(d => Path.GetRelativePath(repositories, Path.GetDirectoryName(d)!).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList()
            : [];
    }

    public HashSet<string> Blobs { get; }

    public List<string> Repositories { get; }

    private string Repository(string name) => Path.Combine(_root, "repositories", name);

    public IEnumerable<(string Tag, string Digest)> Tags(string repository)
    {
        var tags = Path.Combine(Repository(repository), "_manifests", "tags");
        if (!Directory.Exists(tags))
            yield break;
        foreach (var tag in Directory.GetDirectories(tags).Order(StringComparer.Ordinal))
        {
            var link = Path.Combine(tag, "current", "link");
            if (File.Exists(link))
                yield return (Path.GetFileName(tag), File.ReadAllText(link).Trim());
        }
    }

    public HashSet<(string Repository, string Digest)> Revisions() =>
        Repositories.SelectMany(r =>
        {
            var revisions = Path.Combine(Repository(r), "_manifests", "revisions", "sha256");
            return Directory.Exists(revisions)
                ? Directory.GetDirectories(revisions).Where(d => File.Exists(Path.Combine(d, "link"))).Select(d => (r, "sha256:" + Path.GetFileName(d)))
                : [];
        }).ToHashSet();

    private string Data(string digest) => Path.Combine(_root, "blobs", "sha256", digest[7..9], digest[7..], "data");

    private bool ManifestPullable(string repository, string digest) =>
        File.Exists(Path.Combine(Repository(repository), "_manifests", "revisions", "sha256", digest[7..], "link")) && File.Exists(Data(digest));

    private bool BlobPullable(string repository, string digest) =>
        File.Exists(Path.Combine(Repository(repository), "_layers", "sha256", digest[7..], "link")) && File.Exists(Data(digest));

    /// <summary>Whether the image pulls whole; every child manifest met on the way is added to <paramref name="children"/>.</summary>
    public bool Pullable(string repository, string digest, ISet<string>? children = null, int depth = 0)
    {
        if (depth > 16 || !ManifestPullable(repository, digest))
            return false;
        using var document = JsonDocument.Parse(File.ReadAllBytes(Data(digest)));
        var root = document.RootElement;
        var whole = true;
        if (root.TryGetProperty("manifests", out var manifests))
        {
            foreach (var child in manifests.EnumerateArray().Select(m => m.GetProperty("digest").GetString()!))
            {
                children?.Add(child);
                whole &= Pullable(repository, child, children, depth + 1);
            }
        }
        if (root.TryGetProperty("config", out var config))
            whole &= BlobPullable(repository, config.GetProperty("digest").GetString()!);
        if (root.TryGetProperty("layers", out var layers))
        {
            foreach (var layer in layers.EnumerateArray().Where(l => !l.TryGetProperty("urls", out _)))
                whole &= BlobPullable(repository, layer.GetProperty("digest").GetString()!);
        }
        return whole;
    }
}
