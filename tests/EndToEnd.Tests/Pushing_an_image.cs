namespace RegistryIntegrity.EndToEnd.Tests;

public sealed class Pushing_an_image(RunningProduct product) : IClassFixture<RunningProduct>
{
    [Fact]
    public async Task Is_verified_healthy_and_a_deleted_layer_makes_it_broken_naming_the_layer()
    {
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("e2e/app", "v1", layers: 2);

        var healthy = await product.WaitForVerdictAsync(image.Repository, image.Digest, "healthy", TimeSpan.FromSeconds(30));
        Assert.Equal(["v1"], healthy.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var layer = image.LayerDigests[1];
        await registry.DeleteBlobAsync(image.Repository, layer);

        var broken = await product.WaitForVerdictAsync(image.Repository, image.Digest, "broken", TimeSpan.FromSeconds(30));
        var missing = broken.GetProperty("missing").EnumerateArray().Single();
        Assert.Equal(layer, missing.GetProperty("digest").GetString());
        Assert.Equal("layer", missing.GetProperty("kind").GetString());
        Assert.Equal(404, missing.GetProperty("statusCode").GetInt32());
    }
}
