using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;
using Xunit.Abstractions;

namespace RegistryIntegrity.Verifier.Tests.Repair;

/// <summary>
/// Images broken in the watched registry in every way the product detects, the same images intact in a second
/// registry: the repair puts each back through the registry API, and an independent pull proves it.
/// </summary>
public sealed class Repairing_from_a_source_registry(TwoRegistries registries, ITestOutputHelper output) : IClassFixture<TwoRegistries>, IDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"repair-{Guid.NewGuid():N}.db");
    private readonly RegistryPusher _pusher = new(registries.Registry.RegistryUri);
    private readonly RegistryPusher _sourcePusher = new(registries.Source.RegistryUri);
    private readonly RegistryCopy _copy = new();

    public void Dispose()
    {
        _pusher.Dispose();
        _sourcePusher.Dispose();
        _copy.Dispose();
        File.Delete(_database);
    }

    private Task MirrorAsync(string repository, string digest) =>
        _copy.CopyAsync(registries.Registry.RegistryUri, registries.Source.RegistryUri, repository, digest, "v1");

    private async Task<(int ExitCode, JsonDocument Json, string Error)> RepairVerbAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var settings = registries.Settings(_database).Select(s => $"--{s.Key}={s.Value}");
        var exitCode = await VerifierCommandLine.InvokeAsync(["repair", .. args, "--json", .. settings], new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, JsonDocument.Parse(output.ToString()), error.ToString());
    }

    [Fact]
    public async Task Every_way_an_image_breaks_is_put_back_from_the_source_after_a_dry_run_that_changed_nothing()
    {
        var gcIndex = await _pusher.PushIndexAsync(RealRegistry.NewRepository("gc"), "v1");
        var layerGone = await _pusher.PushImageAsync(RealRegistry.NewRepository("layer"), "v1", layers: 2, layerSize: 300_000);
        var tagGone = await _pusher.PushImageAsync(RealRegistry.NewRepository("tag"), "v1");
        foreach (var (repository, digest) in new[] { (gcIndex.Repository, gcIndex.Digest), (layerGone.Repository, layerGone.Digest), (tagGone.Repository, tagGone.Digest) })
            await MirrorAsync(repository, digest);
        using var services = await TwoRegistries.ServicesAsync(registries.Settings(_database));
        var verification = services.GetRequiredService<VerificationService>();
        foreach (var (repository, digest) in new[] { (gcIndex.Repository, gcIndex.Digest), (layerGone.Repository, layerGone.Digest), (tagGone.Repository, tagGone.Digest) })
            Assert.Equal(VerdictResult.Healthy, (await verification.VerifyAsync(repository, digest, "v1", null, CancellationToken.None)).Result);

        // 1. garbage-collect --delete-untagged (2.8): the tagged index's children lose their configs and layers.
        await registries.Registry.StopAsync(StackServices.Registry);
        await registries.Registry.RunRegistryGarbageCollectAsync(deleteUntagged: true);
        await registries.Registry.StartAsync(StackServices.Registry);
        // 2. A child deleted through the API.
        var apiDelete = await _pusher.PushIndexAsync(RealRegistry.NewRepository("api"), "v1");
        await MirrorAsync(apiDelete.Repository, apiDelete.Digest);
        Assert.Equal(VerdictResult.Healthy, (await verification.VerifyAsync(apiDelete.Repository, apiDelete.Digest, "v1", null, CancellationToken.None)).Result);
        await _pusher.DeleteManifestAsync(apiDelete.Repository, apiDelete.Children[0].Digest);
        // 3. A layer's data removed on disk, behind the registry's back.
        registries.RemoveBlobData(layerGone.LayerDigests[1]);
        // 4. A tag's manifest removed on disk: the tag dangles.
        registries.RemoveBlobData(tagGone.Digest);

        var repositories = new[] { gcIndex.Repository, apiDelete.Repository, layerGone.Repository, tagGone.Repository };
        foreach (var repository in repositories)
            Assert.Null((await services.GetRequiredService<RepositorySweeper>().SweepAsync(repository, CancellationToken.None)).Problem);
        var store = services.GetRequiredService<IVerdictStore>();
        var broken = (await store.ListBrokenAsync(CancellationToken.None)).Select(b => b.Digest).ToList();
        Assert.Contains(gcIndex.Digest, broken);
        Assert.Contains(apiDelete.Digest, broken);
        Assert.Contains(layerGone.Digest, broken);
        Assert.Contains(await store.ListDanglingTagsAsync(CancellationToken.None), d => d.Repository == tagGone.Repository && d.Digest == tagGone.Digest);

        // A dry run plans every missing object from the source and writes nothing.
        var storageBefore = registries.StorageSnapshot();
        var verdictsBefore = JsonSerializer.Serialize(await store.ListBrokenAsync(CancellationToken.None));
        var (dryExit, dry, dryError) = await RepairVerbAsync("--all");
        Assert.True(dryExit == 0, dryError + dry.RootElement);
        Assert.Equal("repairable", dry.RootElement.GetProperty("result").GetString());
        Assert.False(dry.RootElement.GetProperty("applied").GetBoolean());
        var planned = dry.RootElement.GetProperty("manifests").EnumerateArray().SelectMany(m => m.GetProperty("actions").EnumerateArray()).ToList();
        Assert.Contains(planned, a => a.GetProperty("digest").GetString() == apiDelete.Children[0].Digest);
        Assert.Contains(planned, a => a.GetProperty("digest").GetString() == layerGone.LayerDigests[1]);
        Assert.Contains(planned, a => a.GetProperty("digest").GetString() == tagGone.Digest);
        Assert.Contains(planned, a => a.GetProperty("digest").GetString() == gcIndex.Children[0].ConfigDigest);
        Assert.All(planned, a => Assert.Equal(("planned", "backup"), (a.GetProperty("status").GetString(), a.GetProperty("source").GetString())));
        Assert.Equal(storageBefore, registries.StorageSnapshot());
        Assert.Equal(verdictsBefore, JsonSerializer.Serialize(await store.ListBrokenAsync(CancellationToken.None)));

        var (exitCode, applied, error) = await RepairVerbAsync("--all", "--apply");
        output.WriteLine(applied.RootElement.ToString());

        Assert.True(exitCode == 0, error + applied.RootElement);
        Assert.Equal("repaired", applied.RootElement.GetProperty("result").GetString());
        Assert.True(applied.RootElement.GetProperty("objectsCopied").GetInt32() >= planned.Select(a => a.GetProperty("digest").GetString()).Distinct().Count());
        Assert.Empty(await store.ListBrokenAsync(CancellationToken.None));
        Assert.Empty(await store.ListDanglingTagsAsync(CancellationToken.None));
        var tags = new Dictionary<string, string>
        {
            [gcIndex.Repository] = gcIndex.Digest, [apiDelete.Repository] = apiDelete.Digest, [layerGone.Repository] = layerGone.Digest, [tagGone.Repository] = tagGone.Digest,
        };
        foreach (var (repository, digest) in tags)
        {
            Assert.Empty(await _copy.PullAsync(registries.Registry.RegistryUri, repository, "v1"));
            // Never a tag move: v1 still points where it did, and it is the only tag.
            Assert.Equal(digest, await TagDigestAsync(repository, "v1"));
            Assert.Equal(["v1"], await TagsAsync(repository));
        }
    }

    [Fact]
    public async Task An_object_the_source_lacks_leaves_the_image_broken_and_the_report_names_it()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("lacks"), "v1", layers: 2);
        await MirrorAsync(image.Repository, image.Digest);
        await _pusher.DeleteBlobAsync(image.Repository, image.ConfigDigest);
        await _pusher.DeleteBlobAsync(image.Repository, image.LayerDigests[0]);
        await _sourcePusher.DeleteBlobAsync(image.Repository, image.LayerDigests[0]);
        var logs = new CapturedLogs();
        using var services = await TwoRegistries.ServicesAsync(registries.Settings(_database), logs);

        var run = await services.GetRequiredService<RepairService>().RunAsync(new RepairRequest(image.Repository, image.Digest, Apply: true), null, CancellationToken.None);

        Assert.Equal((RepairResults.StillBroken, 1), (run.Result, run.ExitCode));
        var report = Assert.Single(run.Manifests);
        var still = Assert.Single(report.StillMissing);
        Assert.Equal(("layer", image.LayerDigests[0]), (still.Kind, still.Digest));
        Assert.StartsWith("no source has it: backup", still.Why, StringComparison.Ordinal);
        Assert.Contains("404", still.Why, StringComparison.Ordinal);
        // What the source had was copied, and the copy is audited.
        Assert.Contains(report.Actions, a => a.Digest == image.ConfigDigest && a.Status == "copied");
        Assert.Contains($"repair audit: copied config {image.ConfigDigest}", logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain($"copied layer {image.LayerDigests[0]}", logs.Text, StringComparison.Ordinal);
        using var metrics = new MemoryStream();
        await services.GetRequiredService<VerifierMetricsRegistry>().Registry.CollectAndExportAsTextAsync(metrics);
        var exported = System.Text.Encoding.UTF8.GetString(metrics.ToArray());
        Assert.Contains("registry_integrity_repairs_total{result=\"still-broken\"}", exported, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_repair_copied_objects_total{kind=\"blob\"}", exported, StringComparison.Ordinal);
        var verdict = await services.GetRequiredService<IVerdictStore>().GetManifestAsync(image.Repository, image.Digest, CancellationToken.None);
        Assert.Equal("broken", verdict!.Result);
        Assert.Equal([image.LayerDigests[0]], verdict.Missing.Select(m => m.Digest));
    }

    [Fact]
    public async Task A_source_that_keeps_the_repository_under_another_name_is_read_through_its_mapping()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("mapped"), "v1", layers: 2);
        var there = RealRegistry.NewRepository("library");
        await _copy.CopyAsync(registries.Registry.RegistryUri, registries.Source.RegistryUri, image.Repository, image.Digest, "v1", toRepository: there);
        await _pusher.DeleteBlobAsync(image.Repository, image.LayerDigests[1]);
        var settings = registries.Settings(_database, ("Repair:Sources:0:RepositoryMap:0", $"{image.Repository}={there}"));
        using var services = await TwoRegistries.ServicesAsync(settings);
        Assert.Equal(VerdictResult.Broken, (await services.GetRequiredService<VerificationService>().VerifyAsync(image.Repository, image.Digest, "v1", null, CancellationToken.None)).Result);

        var run = await services.GetRequiredService<RepairService>().RunAsync(new RepairRequest(image.Repository, image.Digest, Apply: true), null, CancellationToken.None);

        Assert.Equal((RepairResults.Repaired, 0), (run.Result, run.ExitCode));
        Assert.Contains(Assert.Single(run.Manifests).Actions, a => a.Digest == image.LayerDigests[1] && a.Status == "copied");
        Assert.Empty(await _copy.PullAsync(registries.Registry.RegistryUri, image.Repository, "v1"));
    }

    [Fact]
    public async Task Without_the_mapping_the_same_source_has_nothing_to_give()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("unmapped"), "v1");
        await _copy.CopyAsync(registries.Registry.RegistryUri, registries.Source.RegistryUri, image.Repository, image.Digest, "v1", toRepository: RealRegistry.NewRepository("library"));
        await _pusher.DeleteBlobAsync(image.Repository, image.LayerDigests[0]);
        using var services = await TwoRegistries.ServicesAsync(registries.Settings(_database));
        await services.GetRequiredService<VerificationService>().VerifyAsync(image.Repository, image.Digest, "v1", null, CancellationToken.None);

        var run = await services.GetRequiredService<RepairService>().RunAsync(new RepairRequest(image.Repository, image.Digest, Apply: true), null, CancellationToken.None);

        Assert.Equal(RepairResults.StillBroken, run.Result);
    }

    private async Task<string?> TagDigestAsync(string repository, string tag)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri(registries.Registry.RegistryUri, $"/v2/{repository}/manifests/{tag}"));
        foreach (var type in MediaTypes.AllManifests)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        using var response = await http.SendAsync(request);
        return response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.Single() : null;
    }

    private async Task<string[]> TagsAsync(string repository)
    {
        using var http = new HttpClient();
        using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(registries.Registry.RegistryUri, $"/v2/{repository}/tags/list")));
        return [.. json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!)];
    }
}
