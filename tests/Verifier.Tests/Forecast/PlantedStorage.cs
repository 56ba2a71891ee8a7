using System.Security.Cryptography;
using System.Text;
using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Verifier.Tests.Forecast;

/// <summary>
/// A registry storage tree written by hand in distribution's layout (real digests of real manifest documents),
/// deleted on dispose: images with a config and layers, OCI indexes, tags, and the damage the tests plant.
/// </summary>
internal sealed class PlantedStorage : IDisposable
{
    private int _next;

    public string Root { get; } = Directory.CreateTempSubdirectory("rit-gc-storage-").FullName;

    public void Dispose() => Directory.Delete(Root, recursive: true);

    public string Blob(string content)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        Write(RegistryStorageLayout.BlobDataPath(digest), bytes);
        return digest;
    }

    /// <summary>An OCI image manifest with a new config and <paramref name="layers"/> new layers, linked in <paramref name="repository"/>.</summary>
    public (string Digest, string Config, string[] Layers) Image(string repository, string? tag = null, int layers = 1)
    {
        var config = LinkedBlob(repository, $"{{\"config\":{_next++}}}");
        var layerDigests = Enumerable.Range(0, layers).Select(_ => LinkedBlob(repository, $"layer-{_next++}")).ToArray();
        var digest = Manifest(repository, tag, $$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":1},
             "layers":[{{string.Join(",", layerDigests.Select(l => $$"""{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{{l}}","size":1}"""))}}]}
            """);
        return (digest, config, layerDigests);
    }

    public string Index(string repository, string? tag, params string[] children) => Manifest(repository, tag, $$"""
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
         "manifests":[{{string.Join(",", children.Select(c => $$"""{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{{c}}","size":1}"""))}}]}
        """);

    /// <summary>Stores a manifest document as the registry does: blob data, revision link, and for a tag its current link and index entry.</summary>
    public string Manifest(string repository, string? tag, string document)
    {
        var digest = Blob(document);
        Link(RegistryStorageLayout.RevisionLinkPath(repository, digest), digest);
        if (tag is not null)
            Tag(repository, tag, digest);
        return digest;
    }

    public void Tag(string repository, string tag, string digest)
    {
        Link(RegistryStorageLayout.TagCurrentLinkPath(repository, tag), digest);
        Link(RegistryStorageLayout.TagIndexLinkPath(repository, tag, digest), digest);
    }

    /// <summary>What a crash or a hand edit leaves: the tag directory (with its index) but no <c>current/link</c>.</summary>
    public void RemoveCurrentLink(string repository, string tag) =>
        File.Delete(Full(RegistryStorageLayout.TagCurrentLinkPath(repository, tag)));

    public void RemoveBlobData(string digest) => File.Delete(Full(RegistryStorageLayout.BlobDataPath(digest)));

    public void RemoveRevision(string repository, string digest) =>
        Directory.Delete(Full(RegistryStorageLayout.RevisionDirectoryPath(repository, digest)), recursive: true);

    public void RemoveLayerLink(string repository, string digest) =>
        Directory.Delete(Full(RegistryStorageLayout.LayerDirectoryPath(repository, digest)), recursive: true);

    public void Write(string relative, string content) => Write(relative, Encoding.UTF8.GetBytes(content));

    public bool Exists(string relative) => File.Exists(Full(relative)) || Directory.Exists(Full(relative));

    private string LinkedBlob(string repository, string content)
    {
        var digest = Blob(content);
        Link(RegistryStorageLayout.LayerLinkPath(repository, digest), digest);
        return digest;
    }

    private void Link(string relative, string digest) => Write(relative, digest);

    private void Write(string relative, byte[] bytes)
    {
        var path = Full(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private string Full(string relative) => RegistryStorageLayout.ToFullPath(Root, relative);
}
