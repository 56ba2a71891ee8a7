using System.Net;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Verifier.Registry;

/// <summary>
/// Puts the header the registry asked for on each request and answers a 401 challenge once
/// (Basic, or a token from the realm). Credentials go to the configured registry origin only, and a
/// challenge is taken only from it: a 401 from the target of a blob redirect is left alone.
/// </summary>
/// <remarks>
/// It runs once per attempt, inside the resilience pipeline, which resends the same request message.
/// The socket handler below changes that message's URI when it follows a redirect, so every attempt
/// starts again at the URI the client asked for rather than at the storage host of the last attempt.
/// </remarks>
public sealed class RegistryAuthenticationHandler(RegistryAuthenticator authenticator, IOptions<RegistryOptions> options) : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<Uri> AskedFor = new("RegistryIntegrity.AskedFor");

    /// <summary>A scope other than the path's pull scope for this request (an upload needs <c>repository:&lt;name&gt;:pull,push</c>).</summary>
    public static readonly HttpRequestOptionsKey<string> Scope = new("RegistryIntegrity.Scope");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(AskedFor, out var asked))
            request.RequestUri = asked;
        else
            request.Options.Set(AskedFor, request.RequestUri!);
        var registry = request.RequestUri!;
        if (!SameOrigin(registry, options.Value.BaseUrl))
        {
            request.Headers.Authorization = null;
            return await base.SendAsync(request, cancellationToken);
        }

        var scope = request.Options.TryGetValue(Scope, out var wanted) ? wanted : PullScope(registry);
        request.Headers.Authorization = await authenticator.HeaderForAsync(scope, cancellationToken);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !SameOrigin(response.RequestMessage?.RequestUri, registry))
            return response;

        var answer = await authenticator.AnswerAsync(response.Headers.WwwAuthenticate, scope, request.Headers.Authorization, cancellationToken);
        if (answer is null)
            return response;
        response.Dispose();
        // The redirect handler below may have moved the request elsewhere: send it to the registry again.
        request.RequestUri = registry;
        request.Headers.Authorization = answer;
        return await base.SendAsync(request, cancellationToken);
    }

    /// <summary><c>repository:&lt;name&gt;:pull</c> for a request under <c>/v2/&lt;name&gt;/(manifests|blobs|tags)/</c>; empty otherwise.</summary>
    internal static string PullScope(Uri uri)
    {
        var path = uri.AbsolutePath;
        var start = path.IndexOf("/v2/", StringComparison.Ordinal);
        if (start < 0)
            return "";
        var rest = path[(start + 4)..];
        foreach (var marker in (string[])["/manifests/", "/blobs/", "/tags/"])
        {
            var end = rest.LastIndexOf(marker, StringComparison.Ordinal);
            if (end > 0)
                return $"repository:{rest[..end]}:pull";
        }
        return "";
    }

    private static bool SameOrigin(Uri? answered, Uri? asked) =>
        answered is not null && asked is not null && Uri.Compare(answered, asked, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
}
