using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RegistryIntegrity.Verifier.Tests.Support;

/// <summary>
/// HTTPS on a free 127.0.0.1 port in front of a plain-HTTP registry: reads (GET, HEAD) are passed through with their
/// Authorization, Accept and Range headers, so the real registry answers over TLS with a certificate from
/// <see cref="Authority"/> (a CA nobody trusts unless told to).
/// </summary>
public sealed class TlsProxy : IAsyncDisposable
{
    private static readonly string[] ResponseHeaders =
        ["Content-Type", "Docker-Content-Digest", "Docker-Distribution-Api-Version", "WWW-Authenticate", "Content-Range", "Link"];

    private readonly HttpClient _upstream;
    private LoopbackServer _server = null!;

    private TlsProxy(Uri upstream)
    {
        _upstream = new HttpClient { BaseAddress = upstream };
        Authority = TestCertificates.CreateAuthority("TLS proxy test CA");
    }

    public X509Certificate2 Authority { get; }

    /// <summary><c>127.0.0.1:port</c>, the certificate's only name.</summary>
    public string Host => _server.BaseUri.Authority;

    public static async Task<TlsProxy> StartAsync(Uri upstream)
    {
        var proxy = new TlsProxy(upstream);
        proxy._server = await LoopbackServer.StartAsync(app => app.Map("/{**path}", proxy.ForwardAsync), TestCertificates.CreateServer(proxy.Authority));
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
        foreach (var name in (string[])["Authorization", "Accept", "Range"])
        {
            if (context.Request.Headers.TryGetValue(name, out var values))
                request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
        }
        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var name in ResponseHeaders)
        {
            if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
                context.Response.Headers[name] = values.ToArray();
        }
        if (response.Content.Headers.ContentLength is { } length)
            context.Response.ContentLength = length;
        if (context.Request.Method != "HEAD")
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _upstream.Dispose();
        Authority.Dispose();
    }
}
