using System.Net.Http.Json;
using System.Text.Json;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>A Verifier without a Listener: everything it learns comes from the backfill. Catalog pages of 100.</summary>
public sealed class VerifierWithoutEvents : RunningProduct
{
    protected override bool StartListener => false;

    protected override IReadOnlyDictionary<string, string> ExtraVerifierSettings => new Dictionary<string, string>
    {
        ["Sweep__CatalogPageSize"] = "100",
        ["Sweep__ConcurrentRepositories"] = "4",
    };
}

public sealed class Backfilling_a_large_catalog(VerifierWithoutEvents product) : IClassFixture<VerifierWithoutEvents>
{
    private const int Repositories = 250, TagsPerRepository = 12;

    [Fact]
    public async Task Enumerates_every_repository_on_every_catalog_page_and_every_tag()
    {
        using var registry = product.Registry();
        var images = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Repositories), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var image = await registry.PushImageAsync($"bulk/repo-{i:D3}", "t00", layers: 1, layerSize: 64);
            for (var t = 1; t < TagsPerRepository; t++)
                await registry.TagAsync(image.Repository, image.Digest, image.MediaType, $"t{t:D2}");
            images.Add(image.Digest);
        });

        var (exitCode, output) = await product.RunVerifierVerbAsync("backfill", "--timeout", "00:02:00");

        Assert.True(exitCode == 0, output);
        Assert.Contains($"repositories {Repositories}/{Repositories}, tags {Repositories * TagsPerRepository}", output, StringComparison.Ordinal);
        var status = await product.VerifierApi.GetFromJsonAsync<JsonElement>("/v1/status");
        Assert.Equal(Repositories, status.GetProperty("manifests").GetProperty("healthy").GetInt64());
        Assert.Equal(0, status.GetProperty("manifests").GetProperty("broken").GetInt64());
        Assert.Equal("completed", status.GetProperty("lastCompletedSweep").GetProperty("status").GetString());
    }
}
