using System.Net.Http.Json;
using System.Diagnostics;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The seed's incident: on 2.8, <c>garbage-collect -m</c> deletes the untagged children of a tagged
/// index and sends no event. The index still answers 200; only a sweep can see the holes.
/// </summary>
public sealed class Garbage_collecting_a_tagged_index(RunningProduct product) : IClassFixture<RunningProduct>
{
    [Fact]
    public async Task Is_flagged_broken_naming_every_swept_child_within_10_s_of_the_registry_being_back()
    {
        using var registry = product.Registry();
        var index = await registry.PushIndexAsync("infra/ci", "latest", ["linux/amd64", "linux/arm64"], withAttestation: true);
        await product.WaitForVerdictAsync(index.Repository, index.Digest, "healthy", TimeSpan.FromSeconds(30));

        await product.Stack.StopAsync(StackServices.Registry);
        await product.Stack.RunRegistryGarbageCollectAsync(deleteUntagged: true);
        await product.Stack.StartAsync(StackServices.Registry);
        var back = Stopwatch.StartNew();

        // A new sweep (202), or one already running since the registry came back (200: a restart sweep) that it joins.
        var sweep = await product.VerifierApi.PostAsync("/v1/sweeps", null);
        Assert.True(sweep.StatusCode is System.Net.HttpStatusCode.Accepted or System.Net.HttpStatusCode.OK, $"{sweep.StatusCode}");
        var sweepId = (await sweep.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString();
        var broken = await product.WaitForVerdictAsync(index.Repository, index.Digest, "broken", TimeSpan.FromSeconds(10));
        Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), $"flagged after {back.Elapsed}");

        var missing = broken.GetProperty("missing").EnumerateArray()
            .Where(m => m.GetProperty("kind").GetString() == "child-manifest")
            .Select(m => m.GetProperty("digest").GetString())
            .Order().ToList();
        Assert.True(index.Children.Select(c => c.Digest).Order().SequenceEqual(missing),
            $"expected every child missing; the verdict: {broken}\n--- verifier ---\n{product.Verifier.Output}");
        Assert.Equal(["latest"], broken.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var progress = await product.WaitForSweepAsync(new Uri($"/v1/sweeps/{sweepId}", UriKind.Relative), TimeSpan.FromSeconds(30));
        Assert.Equal("completed", progress.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Is_flagged_once_the_restarted_registry_sends_its_first_event()
    {
        using var registry = product.Registry();
        var index = await registry.PushIndexAsync("infra/restart", "latest", ["linux/amd64"], withAttestation: true);
        await product.WaitForVerdictAsync(index.Repository, index.Digest, "healthy", TimeSpan.FromSeconds(30));

        await product.Stack.StopAsync(StackServices.Registry);
        await product.Stack.RunRegistryGarbageCollectAsync(deleteUntagged: true);
        await product.Stack.StartAsync(StackServices.Registry);

        // Any event from the new registry process carries a new source.instanceID: that alone starts a sweep.
        await registry.PushImageAsync("infra/unrelated", "v1");
        var broken = await product.WaitForVerdictAsync(index.Repository, index.Digest, "broken", TimeSpan.FromSeconds(15));
        Assert.Equal(2, broken.GetProperty("missing").EnumerateArray().Count(m => m.GetProperty("kind").GetString() == "child-manifest"));
    }
}
