using System.Diagnostics.CodeAnalysis;

namespace RegistryIntegrity.Contracts.RegistryStorage;

/// <summary>What a path under the registry's storage root names (see <see cref="RegistryStorageLayout"/>).</summary>
public enum RegistryStoragePathKind
{
    /// <summary><c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;/data</c>: a blob's bytes (a manifest's too). Digest.</summary>
    BlobData,

    /// <summary><c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;</c>: the blob's directory. Digest.</summary>
    BlobDirectory,

    /// <summary><c>repositories/&lt;name&gt;/_manifests/revisions/&lt;alg&gt;/&lt;hex&gt;/link</c>: the manifest exists in the repository. Repository, digest.</summary>
    RevisionLink,

    /// <summary>The revision link's directory. Repository, digest.</summary>
    RevisionDirectory,

    /// <summary><c>repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt;</c>. Repository, tag.</summary>
    TagDirectory,

    /// <summary><c>.../tags/&lt;tag&gt;/current</c>. Repository, tag.</summary>
    TagCurrentDirectory,

    /// <summary><c>.../tags/&lt;tag&gt;/current/link</c>: the digest the tag points at. Repository, tag.</summary>
    TagCurrentLink,

    /// <summary><c>.../tags/&lt;tag&gt;/index/&lt;alg&gt;/&lt;hex&gt;</c>: one digest the tag has pointed at. Repository, tag, digest.</summary>
    TagIndexEntryDirectory,

    /// <summary><c>.../tags/&lt;tag&gt;/index/&lt;alg&gt;/&lt;hex&gt;/link</c>. Repository, tag, digest.</summary>
    TagIndexLink,

    /// <summary><c>repositories/&lt;name&gt;/_layers/&lt;alg&gt;/&lt;hex&gt;/link</c>: the blob (layer or config) is in the repository. Repository, digest.</summary>
    LayerLink,

    /// <summary>The layer link's directory. Repository, digest.</summary>
    LayerDirectory,

    /// <summary><c>repositories/&lt;name&gt;/_manifests</c>: every revision and tag of the repository. Repository.</summary>
    ManifestsDirectory,

    /// <summary><c>repositories/&lt;name&gt;/_manifests/revisions</c>. Repository.</summary>
    RevisionsDirectory,

    /// <summary><c>repositories/&lt;name&gt;/_manifests/tags</c>. Repository.</summary>
    TagsDirectory,

    /// <summary><c>repositories/&lt;name&gt;/_layers</c>. Repository.</summary>
    LayersDirectory,

    /// <summary>
    /// <c>repositories/&lt;name&gt;</c>: a repository's directory, or the parent of several (<c>team</c> holds
    /// <c>team/app</c>). Storage alone cannot tell which: it stands for every repository named
    /// <see cref="RegistryStoragePath.Repository"/> or starting with it and <c>/</c>.
    /// </summary>
    RepositoryDirectory,
}

/// <summary>A classified path: what it names, and the repository, digest and tag its kind carries (others null).</summary>
public sealed record RegistryStoragePath(RegistryStoragePathKind Kind, string? Repository, string? Digest, string? Tag);

/// <summary>
/// The on-disk layout of distribution's filesystem storage driver (registry/storage/paths.go, the same in
/// 2.8 and 3.x) under the driver's <c>rootdirectory</c>: <c>docker/registry/v2/blobs/...</c> and
/// <c>docker/registry/v2/repositories/&lt;name&gt;/...</c>. Pure: it builds relative paths (always with
/// <c>/</c>) from names that pass <see cref="ReferenceGrammar"/>, and classifies a relative path back into
/// what it names. Anything else (<c>..</c>, an absolute path, a bad digest, a name outside the grammar,
/// uploads in progress) is "not ours".
/// </summary>
public static class RegistryStorageLayout
{
    /// <summary>The layout's directory under the storage root.</summary>
    public const string V2 = "docker/registry/v2";

    public const string Blobs = V2 + "/blobs";
    public const string Repositories = V2 + "/repositories";

    /// <summary>Longer relative paths are not classified (the repository name is capped at 255, a tag at 128).</summary>
    public const int MaxRelativePathLength = 1024;

    private const string LinkFile = "link";
    private const string DataFile = "data";

    public static string BlobDirectoryPath(string digest)
    {
        var (algorithm, hex) = SplitDigest(digest);
        return $"{Blobs}/{algorithm}/{hex[..2]}/{hex}";
    }

    public static string BlobDataPath(string digest) => $"{BlobDirectoryPath(digest)}/{DataFile}";

    public static string RepositoryPath(string repository) => $"{Repositories}/{CheckRepository(repository)}";

    public static string ManifestsPath(string repository) => $"{RepositoryPath(repository)}/_manifests";

    public static string RevisionsPath(string repository) => $"{ManifestsPath(repository)}/revisions";

    public static string RevisionDirectoryPath(string repository, string digest) => $"{RevisionsPath(repository)}/{DigestSegments(digest)}";

    public static string RevisionLinkPath(string repository, string digest) => $"{RevisionDirectoryPath(repository, digest)}/{LinkFile}";

    public static string TagsPath(string repository) => $"{ManifestsPath(repository)}/tags";

    public static string TagDirectoryPath(string repository, string tag) => $"{TagsPath(repository)}/{CheckTag(tag)}";

    public static string TagCurrentLinkPath(string repository, string tag) => $"{TagDirectoryPath(repository, tag)}/current/{LinkFile}";

    public static string TagIndexLinkPath(string repository, string tag, string digest) =>
        $"{TagDirectoryPath(repository, tag)}/index/{DigestSegments(digest)}/{LinkFile}";

    public static string LayersPath(string repository) => $"{RepositoryPath(repository)}/_layers";

    public static string LayerDirectoryPath(string repository, string digest) => $"{LayersPath(repository)}/{DigestSegments(digest)}";

    public static string LayerLinkPath(string repository, string digest) => $"{LayerDirectoryPath(repository, digest)}/{LinkFile}";

    /// <summary>A relative layout path on this machine under <paramref name="root"/> (the driver's rootdirectory).</summary>
    public static string ToFullPath(string root, string relativePath) =>
        Path.Join(root, relativePath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>A link file's content as distribution writes it: exactly the digest, no newline.</summary>
    public static bool TryParseLink(string content, [NotNullWhen(true)] out string? digest)
    {
        digest = ReferenceGrammar.IsDigest(content) ? content : null;
        return digest is not null;
    }

    /// <summary>Classifies <paramref name="fullPath"/> relative to <paramref name="root"/>; false when it is not under it.</summary>
    public static bool TryClassify(string root, string fullPath, [NotNullWhen(true)] out RegistryStoragePath? path)
    {
        path = null;
        if (string.IsNullOrEmpty(root) || string.IsNullOrEmpty(fullPath) || !Path.IsPathFullyQualified(root) || !Path.IsPathFullyQualified(fullPath))
            return false;
        var relative = Path.GetRelativePath(root, fullPath);
        if (Path.IsPathFullyQualified(relative))
            return false;
        return TryClassify(relative.Replace(Path.DirectorySeparatorChar, '/'), out path);
    }

    /// <summary>
    /// What <paramref name="relativePath"/> (relative to the storage root, <c>/</c>-separated, e.g.
    /// <c>docker/registry/v2/blobs/sha256/ab/ab.../data</c>) names, or false when it names nothing of ours.
    /// </summary>
    public static bool TryClassify(string? relativePath, [NotNullWhen(true)] out RegistryStoragePath? path)
    {
        path = null;
        if (string.IsNullOrEmpty(relativePath) || relativePath.Length > MaxRelativePathLength || relativePath[0] == '/')
            return false;
        var segments = relativePath.Split('/');
        // Empty, "." and ".." segments never occur in a layout path; every other segment is checked by its grammar.
        if (segments.Any(s => s.Length == 0 || s == "." || s == ".."))
            return false;
        if (segments.Length < 4 || segments[0] != "docker" || segments[1] != "registry" || segments[2] != "v2")
            return false;
        var rest = segments.AsSpan(4);
        path = segments[3] switch
        {
            "blobs" => ClassifyBlob(rest),
            "repositories" => ClassifyRepository(rest),
            _ => null,
        };
        return path is not null;
    }

    private static RegistryStoragePath? ClassifyBlob(ReadOnlySpan<string> s)
    {
        // <alg>/<xx>/<hex>[/data]
        if (s.Length is not (3 or 4) || !TryDigest(s[0], s[2], out var digest) || s[1] != s[2][..2])
            return null;
        if (s.Length == 3)
            return new(RegistryStoragePathKind.BlobDirectory, null, digest, null);
        return s[3] == DataFile ? new(RegistryStoragePathKind.BlobData, null, digest, null) : null;
    }

    private static RegistryStoragePath? ClassifyRepository(ReadOnlySpan<string> s)
    {
        // The name ends before the first segment starting with '_': no component of the grammar can start with one.
        var nameEnd = 0;
        while (nameEnd < s.Length && !s[nameEnd].StartsWith('_'))
            nameEnd++;
        if (nameEnd == 0)
            return null;
        var repository = string.Join('/', s[..nameEnd].ToArray());
        if (!ReferenceGrammar.IsRepository(repository))
            return null;
        var rest = s[nameEnd..];
        if (rest.Length == 0)
            return new(RegistryStoragePathKind.RepositoryDirectory, repository, null, null);
        return rest[0] switch
        {
            "_manifests" => ClassifyManifests(repository, rest[1..]),
            "_layers" => ClassifyDigestLink(repository, rest[1..], RegistryStoragePathKind.LayersDirectory, RegistryStoragePathKind.LayerDirectory, RegistryStoragePathKind.LayerLink),
            _ => null,
        };
    }

    private static RegistryStoragePath? ClassifyManifests(string repository, ReadOnlySpan<string> s)
    {
        if (s.Length == 0)
            return new(RegistryStoragePathKind.ManifestsDirectory, repository, null, null);
        return s[0] switch
        {
            "revisions" => ClassifyDigestLink(repository, s[1..], RegistryStoragePathKind.RevisionsDirectory, RegistryStoragePathKind.RevisionDirectory, RegistryStoragePathKind.RevisionLink),
            "tags" => ClassifyTags(repository, s[1..]),
            _ => null,
        };
    }

    // [<alg>/<hex>[/link]]: the layout of _layers and _manifests/revisions. "<alg>" alone is a directory of many: not classified.
    private static RegistryStoragePath? ClassifyDigestLink(
        string repository, ReadOnlySpan<string> s, RegistryStoragePathKind parent, RegistryStoragePathKind directory, RegistryStoragePathKind link)
    {
        if (s.Length == 0)
            return new(parent, repository, null, null);
        if (s.Length is not (2 or 3) || !TryDigest(s[0], s[1], out var digest))
            return null;
        if (s.Length == 2)
            return new(directory, repository, digest, null);
        return s[2] == LinkFile ? new(link, repository, digest, null) : null;
    }

    private static RegistryStoragePath? ClassifyTags(string repository, ReadOnlySpan<string> s)
    {
        if (s.Length == 0)
            return new(RegistryStoragePathKind.TagsDirectory, repository, null, null);
        var tag = s[0];
        if (!ReferenceGrammar.IsTag(tag))
            return null;
        var rest = s[1..];
        if (rest.Length == 0)
            return new(RegistryStoragePathKind.TagDirectory, repository, null, tag);
        if (rest[0] == "current")
        {
            return rest.Length switch
            {
                1 => new(RegistryStoragePathKind.TagCurrentDirectory, repository, null, tag),
                2 when rest[1] == LinkFile => new(RegistryStoragePathKind.TagCurrentLink, repository, null, tag),
                _ => null,
            };
        }
        if (rest[0] == "index" && rest.Length is 3 or 4 && TryDigest(rest[1], rest[2], out var digest))
        {
            if (rest.Length == 3)
                return new(RegistryStoragePathKind.TagIndexEntryDirectory, repository, digest, tag);
            return rest[3] == LinkFile ? new(RegistryStoragePathKind.TagIndexLink, repository, digest, tag) : null;
        }
        return null;
    }

    private static bool TryDigest(string algorithm, string hex, [NotNullWhen(true)] out string? digest)
    {
        var candidate = algorithm + ":" + hex;
        digest = ReferenceGrammar.IsDigest(candidate) ? candidate : null;
        return digest is not null;
    }

    private static string DigestSegments(string digest)
    {
        var (algorithm, hex) = SplitDigest(digest);
        return $"{algorithm}/{hex}";
    }

    private static (string Algorithm, string Hex) SplitDigest(string digest)
    {
        if (!ReferenceGrammar.IsDigest(digest))
            throw new ArgumentException("not a sha256 or sha512 digest", nameof(digest));
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        return (digest[..colon], digest[(colon + 1)..]);
    }

    private static string CheckRepository(string repository) =>
        ReferenceGrammar.IsRepository(repository) ? repository : throw new ArgumentException("not a repository name of distribution's grammar", nameof(repository));

    private static string CheckTag(string tag) =>
        ReferenceGrammar.IsTag(tag) ? tag : throw new ArgumentException("not a tag of distribution's grammar", nameof(tag));
}
