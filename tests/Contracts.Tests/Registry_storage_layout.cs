using RegistryIntegrity.Contracts.RegistryStorage;
using Kind = RegistryIntegrity.Contracts.RegistryStorage.RegistryStoragePathKind;

namespace RegistryIntegrity.Contracts.Tests;

public class Registry_storage_layout
{
    private const string Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string Digest = "sha256:" + Hex;
    private const string V2 = "docker/registry/v2";

    [Fact]
    public void Builds_the_paths_of_distributions_filesystem_driver()
    {
        Assert.Equal($"{V2}/blobs/sha256/01/{Hex}/data", RegistryStorageLayout.BlobDataPath(Digest));
        Assert.Equal($"{V2}/blobs/sha256/01/{Hex}", RegistryStorageLayout.BlobDirectoryPath(Digest));
        Assert.Equal($"{V2}/repositories/team/app/_manifests/revisions/sha256/{Hex}/link", RegistryStorageLayout.RevisionLinkPath("team/app", Digest));
        Assert.Equal($"{V2}/repositories/team/app/_manifests/tags/v1.0/current/link", RegistryStorageLayout.TagCurrentLinkPath("team/app", "v1.0"));
        Assert.Equal($"{V2}/repositories/team/app/_manifests/tags/v1.0/index/sha256/{Hex}/link", RegistryStorageLayout.TagIndexLinkPath("team/app", "v1.0", Digest));
        Assert.Equal($"{V2}/repositories/team/app/_layers/sha256/{Hex}/link", RegistryStorageLayout.LayerLinkPath("team/app", Digest));
        Assert.Equal($"{V2}/repositories/team/app/_manifests/tags/v1.0", RegistryStorageLayout.TagDirectoryPath("team/app", "v1.0"));
    }

    [Fact]
    public void Builds_sha512_paths_with_the_first_two_hex_digits_as_prefix()
    {
        var hex = new string('e', 128);
        Assert.Equal($"{V2}/blobs/sha512/ee/{hex}/data", RegistryStorageLayout.BlobDataPath("sha512:" + hex));
    }

    [Fact]
    public void Joins_a_relative_path_to_the_storage_root()
    {
        var full = RegistryStorageLayout.ToFullPath("/var/lib/registry", RegistryStorageLayout.BlobDataPath(Digest));
        Assert.Equal($"/var/lib/registry/{V2}/blobs/sha256/01/{Hex}/data", full);
    }

    public static TheoryData<string, Kind, string?, string?, string?> LayoutPaths() => new()
    {
        { $"{V2}/blobs/sha256/01/{Hex}/data", Kind.BlobData, null, Digest, null },
        { $"{V2}/blobs/sha256/01/{Hex}", Kind.BlobDirectory, null, Digest, null },
        { $"{V2}/repositories/team/app/_manifests/revisions/sha256/{Hex}/link", Kind.RevisionLink, "team/app", Digest, null },
        { $"{V2}/repositories/team/app/_manifests/revisions/sha256/{Hex}", Kind.RevisionDirectory, "team/app", Digest, null },
        { $"{V2}/repositories/team/app/_manifests/revisions", Kind.RevisionsDirectory, "team/app", null, null },
        { $"{V2}/repositories/team/app/_manifests/tags/v1", Kind.TagDirectory, "team/app", null, "v1" },
        { $"{V2}/repositories/team/app/_manifests/tags/v1/current", Kind.TagCurrentDirectory, "team/app", null, "v1" },
        { $"{V2}/repositories/team/app/_manifests/tags/v1/current/link", Kind.TagCurrentLink, "team/app", null, "v1" },
        { $"{V2}/repositories/team/app/_manifests/tags/v1/index/sha256/{Hex}", Kind.TagIndexEntryDirectory, "team/app", Digest, "v1" },
        { $"{V2}/repositories/team/app/_manifests/tags/v1/index/sha256/{Hex}/link", Kind.TagIndexLink, "team/app", Digest, "v1" },
        { $"{V2}/repositories/team/app/_manifests/tags", Kind.TagsDirectory, "team/app", null, null },
        { $"{V2}/repositories/team/app/_manifests", Kind.ManifestsDirectory, "team/app", null, null },
        { $"{V2}/repositories/team/app/_layers/sha256/{Hex}/link", Kind.LayerLink, "team/app", Digest, null },
        { $"{V2}/repositories/team/app/_layers/sha256/{Hex}", Kind.LayerDirectory, "team/app", Digest, null },
        { $"{V2}/repositories/team/app/_layers", Kind.LayersDirectory, "team/app", null, null },
        { $"{V2}/repositories/team/app", Kind.RepositoryDirectory, "team/app", null, null },
        { $"{V2}/repositories/team", Kind.RepositoryDirectory, "team", null, null },
        { $"{V2}/repositories/localhost:5000/app/_layers/sha256/{Hex}/link", Kind.LayerLink, "localhost:5000/app", Digest, null },
        { $"{V2}/repositories/a/b/c/d/_manifests/tags/latest/current/link", Kind.TagCurrentLink, "a/b/c/d", null, "latest" },
    };

    [Theory]
    [MemberData(nameof(LayoutPaths))]
    public void Classifies_each_layout_path(string relative, Kind kind, string? repository, string? digest, string? tag)
    {
        Assert.True(RegistryStorageLayout.TryClassify(relative, out var path));
        Assert.Equal(new RegistryStoragePath(kind, repository, digest, tag), path);
    }

    [Fact]
    public void Classifies_what_it_builds()
    {
        Assert.Equal(new RegistryStoragePath(Kind.BlobData, null, Digest, null), Classify(RegistryStorageLayout.BlobDataPath(Digest)));
        Assert.Equal(new RegistryStoragePath(Kind.RevisionLink, "x/y", Digest, null), Classify(RegistryStorageLayout.RevisionLinkPath("x/y", Digest)));
        Assert.Equal(new RegistryStoragePath(Kind.TagCurrentLink, "x/y", null, "t"), Classify(RegistryStorageLayout.TagCurrentLinkPath("x/y", "t")));
        Assert.Equal(new RegistryStoragePath(Kind.TagIndexLink, "x/y", Digest, "t"), Classify(RegistryStorageLayout.TagIndexLinkPath("x/y", "t", Digest)));
        Assert.Equal(new RegistryStoragePath(Kind.LayerLink, "x/y", Digest, null), Classify(RegistryStorageLayout.LayerLinkPath("x/y", Digest)));
    }

    [Fact]
    public void Classifies_a_full_path_under_the_storage_root()
    {
        var full = RegistryStorageLayout.ToFullPath("/srv/registry", RegistryStorageLayout.LayerLinkPath("team/app", Digest));
        Assert.True(RegistryStorageLayout.TryClassify("/srv/registry", full, out var path));
        Assert.Equal(new RegistryStoragePath(Kind.LayerLink, "team/app", Digest, null), path);
        Assert.True(RegistryStorageLayout.TryClassify("/srv/registry/", full, out _));
    }

    [Theory]
    [InlineData("/srv/registry", "/srv/other/docker/registry/v2/blobs")]
    [InlineData("/srv/registry", "/srv/registry/../registry2/docker/registry/v2/repositories/app")]
    [InlineData("/srv/registry", "relative/docker/registry/v2/repositories/app")]
    [InlineData("relative", "/srv/registry/docker/registry/v2/repositories/app")]
    [InlineData("/srv/registry", "")]
    public void Refuses_a_full_path_outside_the_storage_root(string root, string full) =>
        Assert.False(RegistryStorageLayout.TryClassify(root, full, out _));

    [Theory]
    [InlineData("")]
    [InlineData("docker")]
    [InlineData("docker/registry/v2")]
    [InlineData("docker/registry/v3/blobs/sha256/01/" + Hex + "/data")]
    [InlineData("/docker/registry/v2/blobs/sha256/01/" + Hex + "/data")]
    [InlineData("docker/registry/v2/blobs/sha256/01/" + Hex + "/data/")]
    [InlineData("docker/registry/v2/blobs/sha256/01/" + Hex + "//data")]
    [InlineData("docker/registry/v2/blobs/sha256/01/" + Hex + "/./data")]
    [InlineData("docker/registry/v2/blobs/sha256/01/" + Hex + "/../" + Hex + "/data")]
    [InlineData("docker/registry/v2/blobs/sha256/02/" + Hex + "/data")]
    [InlineData("docker/registry/v2/blobs/sha256/01/" + Hex + "/data.tmp")]
    [InlineData("docker/registry/v2/blobs/sha256/01/0123/data")]
    [InlineData("docker/registry/v2/blobs/md5/01/0123456789abcdef0123456789abcdef/data")]
    [InlineData("docker/registry/v2/blobs/sha256/01/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef/data")]
    [InlineData("docker/registry/v2/blobs/sha256/01")]
    [InlineData("docker/registry/v2/blobs/sha256")]
    [InlineData("docker/registry/v2/repositories")]
    [InlineData("docker/registry/v2/repositories/../../../etc/_layers")]
    [InlineData("docker/registry/v2/repositories/team/../app/_manifests")]
    [InlineData("docker/registry/v2/repositories/Team/_manifests")]
    [InlineData("docker/registry/v2/repositories/team/App/_manifests")]
    [InlineData("docker/registry/v2/repositories/te\nam/_manifests")]
    [InlineData("docker/registry/v2/repositories/_manifests/tags")]
    [InlineData("docker/registry/v2/repositories/app/_uploads/0d4a1e2c/data")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/revisions/sha256")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/revisions/sha256/" + Hex + "/link.tmp")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/revisions/sha256/" + Hex + "/link/x")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/other")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/tags/.hidden")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/tags/-bad/current/link")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/tags/v1/current/other")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/tags/v1/index")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/tags/v1/index/sha256/abc/link")]
    [InlineData("docker/registry/v2/repositories/app/_manifests/tags/v1/other")]
    [InlineData("docker/registry/v2/repositories/app/_layers/sha256/" + Hex + "/data")]
    [InlineData("docker/registry/v2/repositories/app/_layers/sha256/nothex/link")]
    public void Says_not_ours_to_anything_else(string relative) =>
        Assert.False(RegistryStorageLayout.TryClassify(relative, out _));

    [Fact]
    public void Says_not_ours_to_an_oversized_path_and_to_null()
    {
        var deep = V2 + "/repositories/" + string.Join('/', Enumerable.Repeat("a", 600)) + "/_layers";
        Assert.False(RegistryStorageLayout.TryClassify(deep, out _));
        Assert.False(RegistryStorageLayout.TryClassify(null, out _));
    }

    [Fact]
    public void Says_not_ours_to_a_repository_name_longer_than_the_grammar_allows()
    {
        var name = string.Join('/', Enumerable.Repeat("ab", 90)); // 269 characters
        Assert.False(RegistryStorageLayout.TryClassify($"{V2}/repositories/{name}/_manifests", out _));
    }

    [Theory]
    [InlineData("../app")]
    [InlineData("team/App")]
    [InlineData("")]
    [InlineData("/app")]
    public void Refuses_to_build_a_path_for_a_name_outside_the_grammar(string repository) =>
        Assert.Throws<ArgumentException>(() => RegistryStorageLayout.RevisionLinkPath(repository, Digest));

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("sha256:../../etc")]
    [InlineData("md5:0123456789abcdef0123456789abcdef")]
    [InlineData("")]
    public void Refuses_to_build_a_path_for_a_bad_digest(string digest)
    {
        Assert.Throws<ArgumentException>(() => RegistryStorageLayout.BlobDataPath(digest));
        Assert.Throws<ArgumentException>(() => RegistryStorageLayout.LayerLinkPath("app", digest));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData(".x")]
    public void Refuses_to_build_a_path_for_a_bad_tag(string tag) =>
        Assert.Throws<ArgumentException>(() => RegistryStorageLayout.TagCurrentLinkPath("app", tag));

    [Theory]
    [InlineData(Digest, true)]
    [InlineData(Digest + "\n", false)]
    [InlineData(" " + Digest, false)]
    [InlineData("sha256:abc", false)]
    [InlineData("", false)]
    public void Reads_a_link_only_as_distribution_writes_it(string content, bool valid)
    {
        Assert.Equal(valid, RegistryStorageLayout.TryParseLink(content, out var digest));
        Assert.Equal(valid ? Digest : null, digest);
    }

    private static RegistryStoragePath? Classify(string relative) =>
        RegistryStorageLayout.TryClassify(relative, out var path) ? path : null;
}
