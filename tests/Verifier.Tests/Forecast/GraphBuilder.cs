using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Tests.Forecast;

/// <summary>Hand-built registry storage: images (config + layers), indexes, tags, blobs; every object's data exists unless removed.</summary>
internal sealed class GraphBuilder
{
    private readonly Dictionary<string, Repo> _repositories = new(StringComparer.Ordinal);
    private readonly HashSet<string> _blobs = new(StringComparer.Ordinal);
    private int _next;

    private sealed class Repo
    {
        public Dictionary<string, GcManifest> Manifests { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
        public bool TagsDirectory { get; set; } = true;
    }

    public static string D(string name) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)));

    private Repo R(string name) => _repositories.TryGetValue(name, out var r) ? r : _repositories[name] = new Repo();

    public string Blob(string? name = null)
    {
        var digest = D(name ?? $"blob-{_next++}");
        _blobs.Add(digest);
        return digest;
    }

    /// <summary>An image manifest with a config and <paramref name="layers"/> (new layers unless given).</summary>
    public string Image(string repository, string? tag = null, string[]? layers = null, string? subject = null, string? name = null)
    {
        var config = Blob();
        layers ??= [Blob(), Blob()];
        var digest = D(name ?? $"image-{_next++}");
        Add(repository, new GcManifest(digest, [new GcReference(config, ReferenceKind.Config), .. layers.Select(l => new GcReference(l, ReferenceKind.Layer))], subject,
            subject is null ? ManifestMediaTypes.OciManifest : "application/vnd.oci.image.manifest.v1+json"), tag);
        return digest;
    }

    public string Index(string repository, string? tag, params string[] children)
    {
        var digest = D($"index-{_next++}");
        Add(repository, new GcManifest(digest, [.. children.Select(c => new GcReference(c, ReferenceKind.ChildManifest))], null, ManifestMediaTypes.OciIndex), tag);
        return digest;
    }

    private void Add(string repository, GcManifest manifest, string? tag)
    {
        R(repository).Manifests[manifest.Digest] = manifest;
        _blobs.Add(manifest.Digest);
        if (tag is not null)
            Tag(repository, tag, manifest.Digest);
    }

    public GraphBuilder Tag(string repository, string tag, string digest)
    {
        R(repository).Tags[tag] = digest;
        return this;
    }

    public GraphBuilder Untag(string repository, string tag)
    {
        R(repository).Tags.Remove(tag);
        return this;
    }

    /// <summary>DELETE by digest: the revision link and every tag naming it go; the data stays for GC.</summary>
    public GraphBuilder DeleteManifest(string repository, string digest)
    {
        R(repository).Manifests.Remove(digest);
        foreach (var tag in R(repository).Tags.Where(t => t.Value == digest).Select(t => t.Key).ToList())
            R(repository).Tags.Remove(tag);
        return this;
    }

    public GraphBuilder RemoveTagsDirectory(string repository)
    {
        R(repository).Tags.Clear();
        R(repository).TagsDirectory = false;
        return this;
    }

    public GraphBuilder RemoveRevisions(string repository)
    {
        R(repository).Manifests.Clear();
        return this;
    }

    public GraphBuilder RemoveData(string digest)
    {
        _blobs.Remove(digest);
        return this;
    }

    public IReadOnlySet<string> Blobs => _blobs;

    public IReadOnlyList<string> ReferencesOf(string repository, string digest) =>
        [.. R(repository).Manifests[digest].References!.Select(r => r.Digest)];

    /// <summary>The forecast over this storage as it is now, the graph taken as complete.</summary>
    public GcForecast Forecast(GcMode mode, GcVersion version) =>
        GcForecaster.Forecast(Build(), GraphCompleteness.Complete, mode, version, "test", DateTimeOffset.UnixEpoch);

    public GcGraph Build() => new(
        [.. _repositories.Select(r => new GcRepository(r.Key, [.. r.Value.Manifests.Values], new Dictionary<string, string>(r.Value.Tags), r.Value.TagsDirectory))],
        new HashSet<string>(_blobs, StringComparer.Ordinal));
}
