using System.CommandLine;
using System.Text.Json;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Cli;

namespace RegistryIntegrity.Verifier.Tests.RegistryStorage;

/// <summary>
/// <c>fsck</c>, run in-process through the Verifier's command line on copies of a real registry 2.8.2's storage,
/// each with one kind of damage planted as GC, a cleanup script or a failing disk leaves it.
/// </summary>
[Collection(StorageScanRegistry.Collection)]
public sealed class Scanning_the_registry_storage(StorageScanRegistry registry) : IDisposable
{
    private readonly string _store = Path.Combine(Path.GetTempPath(), $"rit-fsck-{Guid.NewGuid():N}.db");

    public void Dispose() => File.Delete(_store);

    private async Task<(int ExitCode, string Output, string Error)> FsckAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await VerifierCommandLine.InvokeAsync(["fsck", .. args, $"--Store:ConnectionString=Data Source={_store}"], new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    private async Task<(int ExitCode, JsonElement Report)> FsckJsonAsync(StorageTree tree, params string[] args)
    {
        var (exitCode, output, _) = await FsckAsync(["--root", tree.Root, "--json", .. args]);
        using var document = JsonDocument.Parse(output);
        return (exitCode, document.RootElement.Clone());
    }

    private static List<(string Kind, string Repository, string? Digest, string? Tag)> Findings(JsonElement report) =>
        [.. report.GetProperty("findings").EnumerateArray().Select(f => (
            f.GetProperty("kind").GetString()!, f.GetProperty("repository").GetString()!, f.GetProperty("digest").GetString(), f.GetProperty("tag").GetString()))];

    private static IEnumerable<(string Kind, string Digest)> MissingOf(JsonElement report, string kind, string digest) =>
        report.GetProperty("findings").EnumerateArray()
            .Where(f => f.GetProperty("kind").GetString() == kind && f.GetProperty("digest").GetString() == digest)
            .SelectMany(f => f.GetProperty("missing").EnumerateArray())
            .Select(m => (m.GetProperty("kind").GetString()!, m.GetProperty("digest").GetString()!));

    [Fact]
    public async Task Finds_nothing_in_a_healthy_tree_and_changes_nothing()
    {
        using var tree = registry.CopyHealthy();
        var before = tree.Snapshot();

        var (exitCode, output, _) = await FsckAsync("--root", tree.Root);

        Assert.Equal(0, exitCode);
        Assert.StartsWith($"HEALTHY {tree.Root}: 3 repositories, 2 tags, 7 manifests,", output, StringComparison.Ordinal);
        Assert.Contains("0 finding(s)", output, StringComparison.Ordinal);
        Assert.Equal(before, tree.Snapshot());
    }

    [Fact]
    public async Task Flags_a_tagged_index_whose_child_revision_garbage_collection_removed()
    {
        using var tree = registry.CopyHealthy();
        var child = registry.Index.Children[0].Digest;
        tree.RemoveRevision("fsck/indexed", child);

        var (exitCode, report) = await FsckJsonAsync(tree);

        Assert.Equal(1, exitCode);
        Assert.Equal("broken", report.GetProperty("result").GetString());
        Assert.Equal([("child-manifest", child)], MissingOf(report, "broken-manifest", registry.Index.Digest));
        Assert.Equal([("broken-manifest", "fsck/indexed", registry.Index.Digest, null)], Findings(report));
    }

    [Fact]
    public async Task Flags_an_image_whose_layer_data_was_removed_and_the_layer_link_left_behind()
    {
        using var tree = registry.CopyHealthy();
        var layer = registry.Tagged.LayerDigests[0];
        tree.RemoveBlobData(layer);

        var (exitCode, report) = await FsckJsonAsync(tree);

        Assert.Equal(1, exitCode);
        Assert.Equal([("layer", layer)], MissingOf(report, "broken-manifest", registry.Tagged.Digest));
        Assert.Equal(
            [("broken-manifest", "fsck/plain", registry.Tagged.Digest, null), ("layer-link-without-data", "fsck/plain", layer, null)],
            Findings(report));
    }

    [Fact]
    public async Task Flags_a_tag_whose_manifest_is_gone_as_dangling()
    {
        using var tree = registry.CopyHealthy();
        tree.RemoveRevision("fsck/plain", registry.Tagged.Digest);

        var (exitCode, report) = await FsckJsonAsync(tree);

        Assert.Equal(1, exitCode);
        Assert.Equal([("dangling-tag", "fsck/plain", registry.Tagged.Digest, "v1")], Findings(report)); // the digest its current link names
    }

    [Fact]
    public async Task Flags_an_untagged_revision_whose_data_is_gone_which_no_http_sweep_lists()
    {
        using var tree = registry.CopyHealthy();
        tree.RemoveBlobData(registry.Untagged.Digest);

        var (exitCode, report) = await FsckJsonAsync(tree);

        Assert.Equal(1, exitCode);
        Assert.Equal([("revision-without-data", "fsck/plain", registry.Untagged.Digest, null)], Findings(report));
    }

    [Fact]
    public async Task Removes_a_dangling_layer_link_only_with_apply_and_nothing_else()
    {
        using var tree = registry.CopyHealthy();
        tree.RemoveBlobData(registry.LoneBlob.Digest);
        var link = RegistryStorageLayout.LayerLinkPath("fsck/blobs", registry.LoneBlob.Digest);

        var (found, report) = await FsckJsonAsync(tree);
        Assert.Equal(1, found);
        Assert.Equal([("layer-link-without-data", "fsck/blobs", registry.LoneBlob.Digest, null)], Findings(report));

        var before = tree.Snapshot();
        var (dryRun, dryReport) = await FsckJsonAsync(tree, "--fix-layer-links");
        Assert.Equal(1, dryRun);
        Assert.Equal("dry-run", dryReport.GetProperty("fixLayerLinks").GetString());
        Assert.Equal(0, dryReport.GetProperty("layerLinksRemoved").GetInt32());
        Assert.Equal(before, tree.Snapshot());

        var (applied, appliedReport) = await FsckJsonAsync(tree, "--fix-layer-links", "--apply");
        Assert.Equal(1, applied); // what it found before removing
        Assert.Equal(1, appliedReport.GetProperty("layerLinksRemoved").GetInt32());
        Assert.False(tree.Exists(link));
        var linkDirectory = Path.GetDirectoryName(link)! + "/";
        Assert.Equal(before.Where(e => !e.StartsWith(linkDirectory, StringComparison.Ordinal)), tree.Snapshot());

        var (after, _) = await FsckJsonAsync(tree);
        Assert.Equal(0, after);
    }

    [Fact]
    public async Task Says_indeterminate_with_the_reason_for_data_it_cannot_read_never_broken()
    {
        using var tree = registry.CopyHealthy();
        tree.MakeBlobDataUnreadable(registry.Tagged.ConfigDigest);

        var (exitCode, report) = await FsckJsonAsync(tree);

        Assert.Equal(2, exitCode);
        Assert.Equal("indeterminate", report.GetProperty("result").GetString());
        var findings = report.GetProperty("findings").EnumerateArray().ToList();
        Assert.NotEmpty(findings);
        Assert.All(findings, f => Assert.Equal("indeterminate", f.GetProperty("kind").GetString()));
        Assert.Contains(findings, f => f.GetProperty("detail").GetString()!.Contains($"blob data {registry.Tagged.ConfigDigest} unreadable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refuses_a_root_that_does_not_exist_in_one_line_with_exit_64()
    {
        var (exitCode, output, error) = await FsckAsync("--root", "/nonexistent/registry");

        Assert.Equal(64, exitCode);
        Assert.Equal("", output);
        Assert.Equal("fsck: /nonexistent/registry does not exist or is not a directory", error.Trim());
    }

    [Fact]
    public async Task Refuses_a_folder_that_is_not_a_registry_root_with_exit_64_and_a_json_usage_error()
    {
        var folder = Directory.CreateTempSubdirectory("rit-fsck-other-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "notes.txt"), "not a registry");
            var (exitCode, output, error) = await FsckAsync("--root", folder, "--json");

            Assert.Equal(64, exitCode);
            Assert.Contains("is not a registry storage root", error, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(output);
            Assert.Equal("usage-error", json.RootElement.GetProperty("result").GetString());
            Assert.Equal(64, json.RootElement.GetProperty("exitCode").GetInt32());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("--apply")]
    [InlineData("stray-argument")]
    public async Task Refuses_bad_arguments_with_exit_64(string argument)
    {
        using var tree = registry.CopyHealthy();
        var before = tree.Snapshot();

        var (exitCode, _, error) = await FsckAsync("--root", tree.Root, argument);

        Assert.Equal(64, exitCode);
        Assert.StartsWith("fsck: ", error, StringComparison.Ordinal);
        Assert.Equal(before, tree.Snapshot());
    }

    [Fact]
    public async Task Asks_for_a_root_when_none_is_given()
    {
        var (exitCode, _, error) = await FsckAsync();

        Assert.Equal(64, exitCode);
        Assert.Contains("no storage root", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_an_out_of_range_setting_with_exit_64_naming_the_key()
    {
        using var tree = registry.CopyHealthy();

        var (exitCode, _, error) = await FsckAsync("--root", tree.Root, "--RegistryStorage:ConcurrentRepositories=0");

        Assert.Equal(64, exitCode);
        Assert.Contains("RegistryStorage:ConcurrentRepositories", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Says_indeterminate_when_the_verdict_store_cannot_be_used()
    {
        using var tree = registry.CopyHealthy();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await VerifierCommandLine.InvokeAsync(
            ["fsck", "--root", tree.Root, "--Store:ConnectionString=Data Source=/nonexistent/dir/verifier.db"], new InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(2, exitCode);
        Assert.StartsWith("fsck: the verdict store cannot be used: ", error.ToString(), StringComparison.Ordinal);
    }
}
