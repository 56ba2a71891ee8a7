using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Verification;

[Collection(RealRegistryCollection.Name)]
public sealed class Logging_verdicts(RealRegistry registry)
{
    [Fact]
    public async Task A_broken_verdict_logs_one_line_naming_each_missing_object_and_its_path()
    {
        using var pusher = new RegistryPusher(registry.Uri);
        var index = await pusher.PushIndexAsync(RealRegistry.NewRepository("logs"), "v1");
        var child = index.Children[0];
        await pusher.DeleteManifestAsync(index.Repository, child.Digest);
        var logs = new CapturedLogs();
        var (store, events) = await SqliteStores.CreateAsync();
        using var services = VerifierServices.Create(VerifierServices.Configuration(registry.Uri), logs: logs, configure: s => s.AddSingleton(store).AddSingleton(events));

        await services.GetRequiredService<VerificationService>().VerifyAsync(index.Repository, index.Digest, "v1", null, default);

        var line = Assert.Single(logs.Text.Split('\n'), l => l.Contains("is broken", StringComparison.Ordinal));
        Assert.Contains($"{index.Repository}@{index.Digest} is broken: 1 missing: child-manifest {child.Digest} (404 MANIFEST_UNKNOWN) via {index.Digest}", line, StringComparison.Ordinal);
    }
}
