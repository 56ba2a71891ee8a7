using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Registry;

/// <summary>
/// Where the registry's answers come from something else than a plain registry at the root of its host:
/// a registry under <c>http.prefix</c> (the real 2.8.2), and blob data on object storage behind a redirect
/// (real sockets, .NET's own redirect handling).
/// </summary>
public sealed class Reaching_objects_behind_prefixes_and_redirects
{
    private const string Digest = "sha256:0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c";

    [Fact]
    public async Task A_registry_under_an_http_prefix_is_listed_page_by_page_and_walked()
    {
        await using var stack = await LocalStack.StartAsync(StackServices.Registry, registryEnvironment: new Dictionary<string, string> { ["REGISTRY_HTTP_PREFIX"] = "/mirror/" });
        var baseUrl = new Uri(stack.RegistryUri, "/mirror/");
        using var pusher = new RegistryPusher(baseUrl);
        var images = new List<PushedImage>();
        foreach (var name in (string[])["prefix/a", "prefix/b", "prefix/c"])
            images.Add(await pusher.PushImageAsync(name, "v1"));
        using var services = VerifierServices.Create(VerifierServices.Configuration(baseUrl));
        var client = services.GetRequiredService<RegistryClient>();

        var repositories = new List<string>();
        var pages = 0;
        string? next = null;
        do
        {
            var page = await client.ListRepositoriesAsync(next, pageSize: 1, default);
            Assert.Equal(ProbeOutcome.Present, page.Probe.Outcome);
            repositories.AddRange(page.Names);
            next = page.Next;
            pages++;
        }
        while (next is not null && pages < 10);

        Assert.Equal(["prefix/a", "prefix/b", "prefix/c"], repositories);
        Assert.Equal(["v1"], (await client.ListTagsAsync("prefix/b", null, default)).Names);
        var walk = await services.GetRequiredService<ManifestWalker>().WalkAsync("prefix/b", images[1].Digest, default);
        Assert.Equal(VerdictResult.Healthy, walk.Result);
    }

    [Theory]
    [InlineData("http://elsewhere.invalid/v2/_catalog?last=a&n=1", "another origin")]
    [InlineData("http://[::1", "not a URL")]
    public async Task A_next_page_link_that_cannot_be_followed_fails_the_listing_as_incomplete(string link, string reason)
    {
        await using var registry = await LoopbackServer.StartAsync(app => app.MapGet("/v2/_catalog", (HttpContext context) =>
        {
            context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            context.Response.Headers["Link"] = $"<{link}>; rel=\"next\"";
            return Results.Json(new { repositories = new[] { "team/app" } });
        }));
        using var services = VerifierServices.Create(VerifierServices.Configuration(registry.BaseUri));

        var page = await services.GetRequiredService<RegistryClient>().ListRepositoriesAsync(null, 1, default);

        Assert.Equal(ProbeOutcome.Indeterminate, page.Probe.Outcome);
        Assert.Empty(page.Names);
        Assert.Contains("catalog incomplete", page.Probe.Reason, StringComparison.Ordinal);
        Assert.Contains(reason, page.Probe.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(404, ProbeOutcome.Missing, RegistryClient.StorageNotFound)]
    [InlineData(403, ProbeOutcome.Indeterminate, null)]
    [InlineData(503, ProbeOutcome.Indeterminate, null)]
    public async Task Only_the_storages_404_after_the_registrys_own_redirect_means_the_data_is_gone(int storageStatus, ProbeOutcome expected, string? code)
    {
        await using var storage = await LoopbackServer.StartAsync(app => app.MapMethods("/bucket/{**rest}", ["GET", "HEAD"], (HttpContext context) =>
        {
            context.Response.StatusCode = storageStatus;
            context.Response.ContentType = "application/xml";
            return context.Response.WriteAsync("<Error><Code>NoSuchKey</Code></Error>");
        }));
        await using var registry = await RedirectingRegistryAsync(storage);
        using var services = VerifierServices.Create(VerifierServices.Configuration(registry.BaseUri));

        var probe = await services.GetRequiredService<RegistryClient>().CheckBlobAsync("team/app", Digest, 10, default);

        Assert.Equal((expected, code), (probe.Outcome, probe.ErrorCode));
        Assert.Equal(storageStatus, probe.StatusCode);
    }

    [Fact]
    public async Task A_zero_byte_blob_that_refuses_a_range_is_asked_for_whole()
    {
        await using var registry = await LoopbackServer.StartAsync(app => app.MapGet("/v2/{**rest}", (HttpContext context) =>
        {
            context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            context.Response.StatusCode = context.Request.Headers.Range.Count > 0 ? 416 : 200;
            context.Response.ContentLength = 0;
            return Task.CompletedTask;
        }));
        using var services = VerifierServices.Create(VerifierServices.Configuration(registry.BaseUri));

        var probe = await services.GetRequiredService<RegistryClient>().CheckBlobAsync("team/app", Digest, null, default);

        Assert.Equal(ProbeOutcome.Present, probe.Outcome);
    }

    [Theory]
    [InlineData(10, ProbeOutcome.Present)]
    [InlineData(11, ProbeOutcome.Missing)]
    public async Task A_blob_served_at_another_size_than_its_descriptor_states_is_broken(long descriptorSize, ProbeOutcome expected)
    {
        await using var registry = await LoopbackServer.StartAsync(app => app.MapGet("/v2/{**rest}", (HttpContext context) =>
        {
            context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = "bytes 0-0/10";
            return context.Response.Body.WriteAsync(new byte[] { 7 }).AsTask();
        }));
        using var services = VerifierServices.Create(VerifierServices.Configuration(registry.BaseUri));

        var probe = await services.GetRequiredService<RegistryClient>().CheckBlobAsync("team/app", Digest, descriptorSize, default);

        Assert.Equal(expected, probe.Outcome);
        if (expected == ProbeOutcome.Missing)
            Assert.Equal((RegistryClient.SizeMismatch, "the registry serves 10 bytes, the descriptor says 11"), (probe.ErrorCode, probe.Reason));
    }

    [Fact]
    public async Task A_child_manifest_longer_or_shorter_than_its_descriptor_makes_the_index_broken()
    {
        var fake = new FakeRegistry();
        var child = fake.AddManifest(fake.ImageManifest());
        var index = fake.Index(child);
        index["manifests"]![0]!["size"] = index["manifests"]![0]!["size"]!.GetValue<long>() + 1;
        var indexDigest = fake.AddManifest(index);
        using var services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl), fake);

        var walk = await services.GetRequiredService<ManifestWalker>().WalkAsync("team/app", indexDigest, default);

        Assert.Equal(VerdictResult.Broken, walk.Result);
        var missing = Assert.Single(walk.Missing);
        Assert.Equal((child, RegistryClient.SizeMismatch), (missing.Digest, missing.ErrorCode));
    }

    private static Task<LoopbackServer> RedirectingRegistryAsync(LoopbackServer storage) =>
        LoopbackServer.StartAsync(app => app.MapMethods("/v2/{**rest}", ["GET", "HEAD"], (HttpContext context) =>
        {
            context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            context.Response.StatusCode = 307;
            // Another host name for the same loopback address: the storage is "elsewhere".
            context.Response.Headers.Location = $"http://localhost:{storage.BaseUri.Port}/bucket/{Digest}?signature=abc";
            return Task.CompletedTask;
        }));
}
