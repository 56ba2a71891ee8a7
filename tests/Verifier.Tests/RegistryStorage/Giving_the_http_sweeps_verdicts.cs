using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;
using RegistryIntegrity.Verifier.RegistryStorage;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.RegistryStorage;

/// <summary>
/// The storage scan judges with the HTTP sweep's own rules: on the same damaged tree, read once through the real
/// registry's API and once from its storage, the two stores end up with the same verdicts and dangling tags.
/// </summary>
[Collection(StorageScanRegistry.Collection)]
public sealed class Giving_the_http_sweeps_verdicts(StorageScanRegistry registry)
{
    [Fact]
    public async Task Stores_the_same_verdicts_and_dangling_tags_as_the_http_sweep_on_the_same_tree()
    {
        using var pusher = new RegistryPusher(registry.Stack.RegistryUri);
        var index = await pusher.PushIndexAsync("same/indexed", "v1");
        var layerGone = await pusher.PushImageAsync("same/layer", "v1");
        var dangling = await pusher.PushImageAsync("same/dangling", "v1");
        var sibling = await pusher.PushImageAsync("same/dangling", "v2");
        var healthy = await pusher.PushImageAsync("same/healthy", "v1");
        var live = new StorageTree(registry.LiveRoot, owned: false);
        live.RemoveRevision("same/indexed", index.Children[0].Digest);
        live.RemoveBlobData(layerGone.LayerDigests[0]);
        live.RemoveRevision("same/dangling", dangling.Digest);

        var (httpVerdicts, httpSweeps) = await NewStoreAsync();
        using (var services = VerifierServices.Create(VerifierServices.Configuration(registry.Stack.RegistryUri), configure: s =>
               {
                   s.AddSingleton(httpVerdicts);
                   s.AddSingleton(httpSweeps);
                   s.AddSweeps();
               }))
        {
            var (repositories, error) = await services.GetRequiredService<ISweepSource>().ListRepositoriesAsync(default);
            Assert.Null(error);
            foreach (var repository in repositories)
                await services.GetRequiredService<RepositorySweeper>().SweepAsync(repository, default);
        }

        var storePath = Path.Combine(Path.GetTempPath(), $"rit-fsck-same-{Guid.NewGuid():N}.db");
        try
        {
            using (var output = new StringWriter())
            using (var error = new StringWriter())
            {
                var exitCode = await VerifierCommandLine.InvokeAsync(
                    ["fsck", "--root", registry.LiveRoot, $"--Store:ConnectionString=Data Source={storePath}"], new InvocationConfiguration { Output = output, Error = error });
                Assert.Equal(1, exitCode);
            }
            IVerdictStore storageVerdicts = new DapperVerdictStore(new SqliteConnectionFactory($"Data Source={storePath}"), TimeProvider.System);

            string[] digests = [index.Digest, .. index.Children.Select(c => c.Digest), layerGone.Digest, dangling.Digest, sibling.Digest, healthy.Digest,
                registry.Index.Digest, registry.Tagged.Digest];
            var repositoryOf = new Dictionary<string, string>
            {
                [index.Digest] = "same/indexed", [layerGone.Digest] = "same/layer", [dangling.Digest] = "same/dangling", [sibling.Digest] = "same/dangling",
                [healthy.Digest] = "same/healthy", [registry.Index.Digest] = "fsck/indexed", [registry.Tagged.Digest] = "fsck/plain",
            };
            foreach (var child in index.Children)
                repositoryOf[child.Digest] = "same/indexed";
            foreach (var digest in digests)
            {
                var expected = Describe(await httpVerdicts.GetManifestAsync(repositoryOf[digest], digest, default));
                var actual = Describe(await storageVerdicts.GetManifestAsync(repositoryOf[digest], digest, default));
                Assert.Equal(expected, actual);
            }
            Assert.Equal(
                (await httpVerdicts.ListBrokenAsync(default)).Select(b => $"{b.Repository}@{b.Digest}").Order(),
                (await storageVerdicts.ListBrokenAsync(default)).Select(b => $"{b.Repository}@{b.Digest}").Order());
            Assert.Equal(
                (await httpVerdicts.ListDanglingTagsAsync(default)).Select(d => $"{d.Repository}:{d.Tag}").Order(),
                (await storageVerdicts.ListDanglingTagsAsync(default)).Select(d => $"{d.Repository}:{d.Tag}").Order());

            // And what they agree on is the damage planted, not an empty store.
            Assert.Equal(["same/indexed@" + index.Digest, "same/layer@" + layerGone.Digest],
                (await storageVerdicts.ListBrokenAsync(default)).Select(b => $"{b.Repository}@{b.Digest}").Order());
            Assert.Equal(["same/dangling:v1"], (await storageVerdicts.ListDanglingTagsAsync(default)).Select(d => $"{d.Repository}:{d.Tag}"));
            Assert.Equal("healthy", (await storageVerdicts.GetManifestAsync("same/healthy", healthy.Digest, default))!.Result);
        }
        finally
        {
            File.Delete(storePath);
        }
    }

    [Fact]
    public async Task A_storage_answer_read_before_a_delete_never_overwrites_the_deletes_broken_verdict()
    {
        using var tree = registry.CopyHealthy();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));
        var (store, _) = await NewStoreAsync();
        var storage = new FileSystemRegistryStorage(tree.Root);
        var walker = new ManifestWalker(registry: null, time);
        const string repository = "fsck/indexed";
        var child = registry.Index.Children[0].Digest;

        var scanAnswers = new StorageProbeSource(storage, repository, 4 * 1024 * 1024, time);
        var staleWalk = await walker.WalkAsync(scanAnswers, registry.Index.Digest, default); // the scan now holds "child present"
        Assert.Equal(VerdictResult.Healthy, staleWalk.Result);

        time.Advance(TimeSpan.FromSeconds(1));
        tree.RemoveRevision(repository, child);
        await store.MarkDeletedAsync(repository, child, time.GetUtcNow(), null, default);
        await VerificationService.WalkAndSaveAsync(walker, new StorageProbeSource(storage, repository, 4 * 1024 * 1024, time), store, time, NullLogger.Instance,
            registry.Index.Digest, null, default);
        Assert.Equal("broken", (await store.GetManifestAsync(repository, registry.Index.Digest, default))!.Result);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await store.SaveWalkAsync(staleWalk, staleWalk.ObservedAt!.Value, null, null, default));
        await VerificationService.WalkAndSaveAsync(walker, scanAnswers, store, time, NullLogger.Instance, registry.Index.Digest, null, default);

        var verdict = (await store.GetManifestAsync(repository, registry.Index.Digest, default))!;
        Assert.Equal("broken", verdict.Result);
        Assert.Equal(child, Assert.Single(verdict.Missing).Digest);
    }

    [Fact]
    public void Sweeps_read_the_storage_when_the_verifier_is_given_its_root()
    {
        var settings = new Dictionary<string, string?> { ["RegistryStorage:Root"] = registry.LiveRoot };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var withRoot = VerifierServices.Create(VerifierServices.Configuration(registry.Stack.RegistryUri), configure: s => s.AddSweeps().AddRegistryStorage(configuration));
        using var without = VerifierServices.Create(VerifierServices.Configuration(registry.Stack.RegistryUri), configure: s => s.AddSweeps().AddRegistryStorage(
            new ConfigurationBuilder().Build()));

        Assert.IsType<StorageSweepSource>(withRoot.GetRequiredService<ISweepSource>());
        Assert.IsType<RegistrySweepSource>(without.GetRequiredService<ISweepSource>());
    }

    private static async Task<(IVerdictStore Verdicts, ISweepStore Sweeps)> NewStoreAsync()
    {
        var connections = await SqliteStores.CreateDatabaseAsync();
        return (new DapperVerdictStore(connections, TimeProvider.System), new DapperSweepStore(connections));
    }

    private static string Describe(ManifestVerdict? verdict) => verdict is null
        ? "none"
        : $"{verdict.Result} deleted={verdict.DeletedAt is not null} tags=[{string.Join(',', verdict.Tags.Order())}] " +
          $"missing=[{string.Join(',', verdict.Missing.Select(m => $"{m.Kind} {m.Digest} via {string.Join('>', m.Path)}").Order())}] media={verdict.MediaType}";
}
