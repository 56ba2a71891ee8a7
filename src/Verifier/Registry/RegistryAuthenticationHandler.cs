using System.Net;

namespace RegistryIntegrity.Verifier.Registry;

/// <summary>
/// Puts the header the registry asked for on each request and answers a 401 challenge once
/// (Basic, or a token from the realm). A 401 from somewhere else (the target of a blob redirect)
/// is left alone: credentials are for the registry only, and the redirect itself never carries them.
/// </summary>
public sealed class RegistryAuthenticationHandler(RegistryAuthenticator authenticator) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var registry = request.RequestUri!;
        var scope = PullScope(registry);
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

    private static bool SameOrigin(Uri? answered, Uri asked) =>
        answered is not null && Uri.Compare(answered, asked, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
}
