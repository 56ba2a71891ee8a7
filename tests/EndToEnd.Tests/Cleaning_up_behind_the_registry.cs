using System.Net;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>Cleanup scripts edit the registry's storage directly and send no event: the next sweep finds what they did.</summary>
public sealed class Cleaning_up_behind_the_registry(RunningProduct product) : IClassFixture<RunningProduct>
{
    private string Storage => Path.Combine(product.Stack.StackDir, "registry", "data", "docker", "registry", "v2");

    [Fact]
    public async Task A_removed_tag_directory_and_a_removed_blob_file_are_found_by_the_next_sweep()
    {
        using var registry = product.Registry();
        var tagged = await registry.PushImageAsync("cleanup/app", "old");
        await registry.PushManifestAsync(tagged.Repository, "keep", tagged.MediaType, await GetManifestAsync(tagged));
        var damaged = await registry.PushImageAsync("cleanup/other", "v1");
        await product.WaitForVerdictAsync(damaged.Repository, damaged.Digest, "healthy", TimeSpan.FromSeconds(30));
        await WaitForTagsAsync(tagged, ["keep", "old"]);

        Directory.Delete(Path.Combine(Storage, "repositories", "cleanup", "app", "_manifests", "tags", "old"), recursive: true);
        var layer = damaged.LayerDigests[0];
        File.Delete(Path.Combine(Storage, "blobs", "sha256", layer[7..9], layer[7..], "data"));

        var sweep = await product.StartFreshSweepAsync(TimeSpan.FromSeconds(30));
        await product.WaitForSweepAsync(sweep, TimeSpan.FromSeconds(30));

        var broken = await product.WaitForVerdictAsync(damaged.Repository, damaged.Digest, "broken", TimeSpan.FromSeconds(5));
        var missing = Assert.Single(broken.GetProperty("missing").EnumerateArray());
        Assert.Equal(layer, missing.GetProperty("digest").GetString());
        await WaitForTagsAsync(tagged, ["keep"]);
    }

    private async Task<byte[]> GetManifestAsync(PushedImage image)
    {
        using var http = new HttpClient { BaseAddress = product.Stack.RegistryUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{image.Repository}/manifests/{image.Digest}");
        request.Headers.Accept.ParseAdd(image.MediaType);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    private async Task WaitForTagsAsync(PushedImage image, string[] expected)
    {
        var manifest = await product.WaitForVerdictAsync(image.Repository, image.Digest, "healthy", TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var tags = manifest.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).Order().ToArray();
            if (tags.SequenceEqual(expected))
                return;
            Assert.True(DateTime.UtcNow < deadline, $"tags are [{string.Join(", ", tags)}], expected [{string.Join(", ", expected)}]\n{product.Verifier.Output}");
            await Task.Delay(200);
            manifest = await product.WaitForVerdictAsync(image.Repository, image.Digest, "healthy", TimeSpan.FromSeconds(5));
        }
    }
}
