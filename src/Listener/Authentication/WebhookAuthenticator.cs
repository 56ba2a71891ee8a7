using RegistryIntegrity.Listener.Configuration;
using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace RegistryIntegrity.Listener.Authentication;

/// <summary>
/// Checks the registry's <c>Authorization</c> header: a bearer token or HTTP Basic credentials,
/// against every configured value in constant time. Nothing it reads is ever logged.
/// </summary>
public sealed class WebhookAuthenticator
{
    private const int MaxCredentialBytes = 4096;

    // Comparing fixed-length hashes keeps the time independent of the secrets' length and content.
    private readonly byte[][] _tokenHashes;
    private readonly (byte[] User, byte[] Password)[] _basicHashes;
    private readonly bool _allowAnonymous;

    public WebhookAuthenticator(IOptions<ListenerOptions> options)
    {
        _tokenHashes = [.. options.Value.BearerTokens.Select(t => SHA256.HashData(Encoding.UTF8.GetBytes(t)))];
        _basicHashes = [.. options.Value.BasicCredentials.Select(c =>
            (SHA256.HashData(Encoding.UTF8.GetBytes(c.Username)), SHA256.HashData(Encoding.UTF8.GetBytes(c.Password))))];
        _allowAnonymous = options.Value.AllowAnonymous;
        Challenges = _basicHashes.Length > 0
            ? ["Bearer", "Basic realm=\"registry-integrity-listener\", charset=\"UTF-8\""]
            : ["Bearer"];
    }

    /// <summary>The <c>WWW-Authenticate</c> values of a 401.</summary>
    public string[] Challenges { get; }

    /// <summary>Most credentials looked at in one request (a registry sends one or two, its config's list).</summary>
    public const int MaxCredentials = 8;

    /// <summary>
    /// Whether any one of the credentials is valid. The registry's <c>headers.Authorization</c> is a
    /// list: two values arrive as two header lines, which Kestrel may also join as <c>Bearer a,Bearer b</c>.
    /// A credential (token68) never contains a comma, so each comma-separated part is one credential.
    /// </summary>
    public bool IsAuthorized(StringValues authorizationHeaders)
    {
        if (_allowAnonymous)
            return true;
        var looked = 0;
        var match = false;
        foreach (var header in authorizationHeaders)
        {
            foreach (var range in header.AsSpan().Split(','))
            {
                if (++looked > MaxCredentials)
                    return match;
                match |= IsAuthorizedCredential(header.AsSpan()[range]);
            }
        }
        return match;
    }

    private bool IsAuthorizedCredential(ReadOnlySpan<char> credential)
    {
        var header = credential.Trim();
        var space = header.IndexOf(' ');
        if (space <= 0)
            return false;
        var scheme = header[..space];
        var parameter = header[(space + 1)..].Trim();
        if (parameter.IsEmpty || parameter.Length > MaxCredentialBytes)
            return false;
        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            return _tokenHashes.Length > 0 && IsKnownToken(parameter);
        if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            return _basicHashes.Length > 0 && IsKnownBasic(parameter);
        return false;
    }

    private bool IsKnownToken(ReadOnlySpan<char> token)
    {
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        HashUtf8(token, presented);
        var match = false;
        foreach (var expected in _tokenHashes)
            match |= CryptographicOperations.FixedTimeEquals(presented, expected);
        return match;
    }

    private bool IsKnownBasic(ReadOnlySpan<char> encoded)
    {
        var decoded = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(encoded.Length));
        try
        {
            if (!Convert.TryFromBase64Chars(encoded, decoded, out var length))
                return false;
            var credentials = decoded.AsSpan(0, length);
            var colon = credentials.IndexOf((byte)':');
            if (colon < 0)
                return false;
            Span<byte> user = stackalloc byte[SHA256.HashSizeInBytes];
            Span<byte> password = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(credentials[..colon], user);
            SHA256.HashData(credentials[(colon + 1)..], password);
            var match = false;
            foreach (var (expectedUser, expectedPassword) in _basicHashes)
                match |= CryptographicOperations.FixedTimeEquals(user, expectedUser) & CryptographicOperations.FixedTimeEquals(password, expectedPassword);
            return match;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
            ArrayPool<byte>.Shared.Return(decoded);
        }
    }

    private static void HashUtf8(ReadOnlySpan<char> value, Span<byte> hash)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(value.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(value, bytes);
            SHA256.HashData(bytes.AsSpan(0, length), hash);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
