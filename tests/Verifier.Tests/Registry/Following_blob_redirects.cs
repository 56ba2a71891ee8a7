using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Registry;

/// <summary>
/// A registry on object storage answers blob requests with 307 to a signed URL. Through real
/// sockets (the redirect is followed by .NET's handler): the redirect is followed, the range is
/// kept, and the credentials stay with the registry.
/// </summary>
public sealed class Following_blob_redirects
{
    private const string Digest = "sha256:0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";

    [Theory]
    [InlineData("RangedGet")]
    [InlineData("Head")]
    public async Task A_307_is_followed_without_the_Authorization_header(string blobCheck)
    {
        var seen = new ConcurrentQueue<(string Path, string? Authorization, string? Range)>();
        await using var storage = await LoopbackServer.StartAsync(app => app.MapMethods("/signed/{**rest}", ["GET", "HEAD"], (HttpContext context) =>
        {
            seen.Enqueue((context.Request.Path, context.Request.Headers.Authorization, context.Request.Headers.Range));
            if (context.Request.Headers.Range.Count > 0)
            {
                context.Response.StatusCode = 206;
                return context.Response.Body.WriteAsync(new byte[] { 42 }).AsTask();
            }
            context.Response.ContentLength = 1;
            return Task.CompletedTask;
        }));
        await using var registry = await LoopbackServer.StartAsync(app => app.MapMethods("/v2/{**rest}", ["GET", "HEAD"], (HttpContext context) =>
        {
            seen.Enqueue((context.Request.Path, context.Request.Headers.Authorization, context.Request.Headers.Range));
            context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            if (context.Request.Headers.Authorization.Count == 0)
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"registry\"";
                return Task.CompletedTask;
            }
            // Another host name for the same loopback address: the signed URL is "elsewhere".
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = $"http://localhost:{storage.BaseUri.Port}/signed/{Digest}?signature=abc";
            return Task.CompletedTask;
        }));
        using var services = VerifierServices.Create(VerifierServices.Configuration(registry.BaseUri,
            ("Username", "ci"), ("Password", "secret"), ("BlobCheck", blobCheck)));

        var probe = await services.GetRequiredService<RegistryClient>().CheckBlobAsync("team/app", Digest, 1, default);

        Assert.Equal(ProbeOutcome.Present, probe.Outcome);
        var requests = seen.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.StartsWith("Basic ", requests[1].Authorization, StringComparison.Ordinal);
        Assert.Equal($"/signed/{Digest}", requests[2].Path);
        Assert.Null(requests[2].Authorization);
        Assert.Equal(blobCheck == "RangedGet" ? "bytes=0-0" : null, requests[2].Range);
    }

    [Fact]
    public async Task A_retry_after_the_storage_host_failed_sends_it_no_credentials_and_takes_no_challenge_from_it()
    {
        const string GoodToken = "registry-issued-token";
        var decoyRequests = 0;
        var decoyCredentials = new ConcurrentQueue<string>();
        var registryTokenScopes = new ConcurrentQueue<string>();
        Uri? decoyBase = null;
        await using var decoy = await LoopbackServer.StartAsync(app => app.MapMethods("/{**rest}", ["GET", "HEAD"], (HttpContext context) =>
        {
            if (context.Request.Headers.Authorization.Count > 0)
                decoyCredentials.Enqueue($"{context.Request.Path}: {context.Request.Headers.Authorization}");
            if (context.Request.Path.StartsWithSegments("/token"))
            {
                decoyCredentials.Enqueue($"token request {context.Request.QueryString}");
                return context.Response.WriteAsJsonAsync(new { token = "decoy-token" });
            }
            // First a failure the resilience pipeline retries, then a challenge naming the decoy's own realm.
            if (Interlocked.Increment(ref decoyRequests) == 1)
            {
                context.Response.StatusCode = 503;
                return Task.CompletedTask;
            }
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{decoyBase}token\",service=\"decoy\"";
            return Task.CompletedTask;
        }));
        decoyBase = new Uri($"http://localhost:{decoy.BaseUri.Port}/");
        Uri? registryBase = null;
        await using var registry = await LoopbackServer.StartAsync(app =>
        {
            app.MapGet("/token", (HttpContext context) =>
            {
                registryTokenScopes.Enqueue(context.Request.Query["scope"].ToString());
                return context.Request.Headers.Authorization.ToString().StartsWith("Basic ", StringComparison.Ordinal)
                    ? context.Response.WriteAsJsonAsync(new { token = GoodToken })
                    : Task.FromResult(context.Response.StatusCode = 401);
            });
            app.MapMethods("/v2/{**rest}", ["GET", "HEAD"], (HttpContext context) =>
            {
                context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
                if (context.Request.Headers.Authorization.ToString() != $"Bearer {GoodToken}")
                {
                    context.Response.StatusCode = 401;
                    context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{registryBase}token\",service=\"registry\"";
                    return Task.CompletedTask;
                }
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = $"{decoyBase}signed/{Digest}?signature=abc";
                return Task.CompletedTask;
            });
        });
        registryBase = registry.BaseUri;
        using var services = VerifierServices.Create(VerifierServices.Configuration(registry.BaseUri, ("Username", "ci"), ("Password", "secret")));
        var client = services.GetRequiredService<RegistryClient>();

        var first = await client.CheckBlobAsync("team/app", Digest, 100, default);
        var second = await client.CheckBlobAsync("team/other", Digest, 100, default);

        Assert.True(decoyRequests >= 2, $"the storage host was asked {decoyRequests} time(s): the retry never reached it");
        Assert.Empty(decoyCredentials);
        Assert.Equal(ProbeOutcome.Indeterminate, first.Outcome);
        Assert.Equal(ProbeOutcome.Indeterminate, second.Outcome);
        Assert.Contains("repository:team/other:pull", registryTokenScopes);
    }
}
