using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Listener.Authentication;

/// <summary>Checks the registry's <c>Authorization: Bearer</c> header against the configured tokens in constant time.</summary>
public sealed class WebhookAuthenticator
{
    private readonly byte[][] _tokenHashes;
    private readonly bool _allowAnonymous;

    public WebhookAuthenticator(IOptions<ListenerOptions> options)
    {
        // Comparing fixed-length hashes keeps the comparison time independent of the token's length and content.
        _tokenHashes = options.Value.BearerTokens.Select(t => SHA256.HashData(Encoding.UTF8.GetBytes(t))).ToArray();
        _allowAnonymous = options.Value.AllowAnonymous;
    }

    public bool IsAuthorized(string? authorizationHeader)
    {
        if (_allowAnonymous)
            return true;
        if (!AuthenticationHeaderValue.TryParse(authorizationHeader, out var header)
            || !"Bearer".Equals(header.Scheme, StringComparison.OrdinalIgnoreCase)
            || string.IsNullOrEmpty(header.Parameter))
            return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header.Parameter));
        var match = false;
        foreach (var expected in _tokenHashes)
            match |= CryptographicOperations.FixedTimeEquals(presented, expected);
        return match;
    }
}
