using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

public sealed class Sweeping_while_the_registry_is_down(RunningProduct product) : IClassFixture<RunningProduct>
{
    [Fact]
    public async Task Fails_the_sweep_as_catalog_inaccessible_and_marks_nothing_broken()
    {
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("outage/app", "v1");
        await product.WaitForVerdictAsync(image.Repository, image.Digest, "healthy", TimeSpan.FromSeconds(30));

        await product.Stack.StopAsync(StackServices.Registry);
        try
        {
            // A sweep still running from before the outage (the first event's restart sweep can be) is waited out first.
            var sweep = await product.StartFreshSweepAsync(TimeSpan.FromSeconds(60));
            var progress = await product.WaitForSweepAsync(sweep, TimeSpan.FromSeconds(60));

            Assert.Equal("failed", progress.GetProperty("status").GetString());
            Assert.Contains("catalog inaccessible", progress.GetProperty("progress").GetProperty("catalogError").GetString(), StringComparison.Ordinal);
            // A sweep that overlaps the outage (the first event's restart sweep can) records indeterminate: never broken.
            var manifest = await product.VerifierApi.GetFromJsonAsync<JsonElement>($"/v1/manifests?repository={image.Repository}&digest={image.Digest}");
            Assert.NotEqual("broken", manifest.GetProperty("manifest").GetProperty("result").GetString());
            var metrics = await product.VerifierApi.GetStringAsync("/metrics");
            Assert.Contains("registry_integrity_catalog_accessible 0", metrics, StringComparison.Ordinal);
            Assert.Contains("registry_integrity_broken_manifests 0", metrics, StringComparison.Ordinal);
        }
        finally
        {
            await product.Stack.StartAsync(StackServices.Registry);
        }
    }
}
