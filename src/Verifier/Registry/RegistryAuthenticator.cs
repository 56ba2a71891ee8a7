using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Verifier.Registry;

/// <summary>
/// Answers the registry's authentication challenges: HTTP Basic, or the token flow (401
/// <c>WWW-Authenticate: Bearer realm=..,service=..,scope=..</c>, then a token from the realm
/// fetched with the Basic credentials, cached per scope until <c>expires_in</c>). It remembers
/// what the registry asked for, so later requests carry the right header from the start instead
/// of paying a 401 each. A singleton: the HTTP handlers that use it are recycled by the factory.
/// </summary>
public sealed class RegistryAuthenticator(
    IHttpClientFactory httpClients, RegistryCredentials credentials, IOptions<RegistryOptions> options, TimeProvider time,
    ILogger<RegistryAuthenticator> logger)
{
    public const string TokenClientName = "registry-token";

    /// <summary>Used when the token response has no <c>expires_in</c>, as the token specification says.</summary>
    public static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromSeconds(60);

    /// <summary>After the realm refused or failed, requests for that scope go without a token this long instead of asking again each.</summary>
    public static readonly TimeSpan RealmFailureBackoff = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, CachedToken> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _failedUntil = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _fetching = new(1, 1);
    private volatile Challenge? _challenge;

    private sealed record Challenge(string Scheme, Uri? Realm, string? Service);

    private sealed record CachedToken(string Value, DateTimeOffset RefreshAfter);

    /// <summary>The header to send with a request for <paramref name="scope"/>, given what the registry asked for so far.</summary>
    public async ValueTask<AuthenticationHeaderValue?> HeaderForAsync(string scope, CancellationToken cancellationToken)
    {
        var challenge = _challenge;
        return challenge switch
        {
            null => null,
            { Scheme: "basic" } => credentials.BasicHeader(),
            { Realm: { } realm } => await TokenAsync(realm, challenge.Service, scope, forceRefresh: false, cancellationToken),
            _ => null,
        };
    }

    /// <summary>
    /// The header that answers a 401's challenges, or null when it cannot be answered (unknown
    /// scheme, no credentials for Basic, the realm refused). <paramref name="sent"/> is what the
    /// refused request carried: a refused token is fetched again rather than reused.
    /// </summary>
    public async Task<AuthenticationHeaderValue?> AnswerAsync(
        HttpHeaderValueCollection<AuthenticationHeaderValue> challenges, string scope, AuthenticationHeaderValue? sent, CancellationToken cancellationToken)
    {
        foreach (var challenge in challenges)
        {
            if (challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                var parameters = ParseParameters(challenge.Parameter);
                if (!parameters.TryGetValue("realm", out var realmText) || !Uri.TryCreate(realmText, UriKind.Absolute, out var realm)
                    || realm.Scheme is not ("http" or "https"))
                {
                    logger.LogWarning("The registry asked for a bearer token without a usable realm");
                    return null;
                }
                var service = parameters.GetValueOrDefault("service");
                _challenge = new Challenge("bearer", realm, service);
                var tokenScope = parameters.GetValueOrDefault("scope") ?? scope;
                var refused = sent?.Scheme == "Bearer";
                return await TokenAsync(realm, service, tokenScope, forceRefresh: refused, cancellationToken);
            }
            if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            {
                _challenge = new Challenge("basic", null, null);
                var header = credentials.BasicHeader();
                // Sending the same credentials again would be refused again.
                return header is not null && sent?.Scheme != "Basic" ? header : null;
            }
        }
        return null;
    }

    private async Task<AuthenticationHeaderValue?> TokenAsync(Uri realm, string? service, string scope, bool forceRefresh, CancellationToken cancellationToken)
    {
        var key = $"{realm}|{service}|{scope}";
        if (!forceRefresh && _tokens.TryGetValue(key, out var cached) && time.GetUtcNow() < cached.RefreshAfter)
            return new AuthenticationHeaderValue("Bearer", cached.Value);

        await _fetching.WaitAsync(cancellationToken);
        try
        {
            // Another request may have fetched it while this one waited.
            if (!forceRefresh && _tokens.TryGetValue(key, out cached) && time.GetUtcNow() < cached.RefreshAfter)
                return new AuthenticationHeaderValue("Bearer", cached.Value);
            if (_failedUntil.TryGetValue(key, out var until) && time.GetUtcNow() < until)
                return null;
            var token = await FetchTokenAsync(realm, service, scope, cancellationToken);
            if (token is null)
            {
                _failedUntil[key] = time.GetUtcNow() + RealmFailureBackoff;
                return null;
            }
            _failedUntil.TryRemove(key, out _);
            _tokens[key] = token;
            return new AuthenticationHeaderValue("Bearer", token.Value);
        }
        finally
        {
            _fetching.Release();
        }
    }

    private async Task<CachedToken?> FetchTokenAsync(Uri realm, string? service, string scope, CancellationToken cancellationToken)
    {
        var query = new StringBuilder(realm.Query.Length > 1 ? realm.Query[1..] + "&" : "");
        if (service is not null)
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        if (scope.Length > 0)
            query.Append("scope=").Append(Uri.EscapeDataString(scope)).Append('&');
        var uri = new UriBuilder(realm) { Query = query.ToString().TrimEnd('&') }.Uri;

        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        // Credentials travel in the clear only when the registry itself is plain http (a loopback or lab setup).
        if (realm.Scheme == "https" || options.Value.BaseUrl?.Scheme == "http")
            request.Headers.Authorization = credentials.BasicHeader();
        var started = time.GetUtcNow();
        try
        {
            using var http = httpClients.CreateClient(TokenClientName);
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The token realm {Realm} answered {Status} for scope {Scope}", realm.GetLeftPart(UriPartial.Path), (int)response.StatusCode, scope);
                return null;
            }
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            var root = json.RootElement;
            var value = String(root, "token") ?? String(root, "access_token");
            if (string.IsNullOrEmpty(value))
            {
                logger.LogWarning("The token realm {Realm} answered without a token", realm.GetLeftPart(UriPartial.Path));
                return null;
            }
            var lifetime = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("expires_in", out var expires)
                && expires.ValueKind == JsonValueKind.Number && expires.TryGetInt32(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : DefaultTokenLifetime;
            // Renew a little early so a token does not expire between the check and the registry's.
            var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(10).Ticks, lifetime.Ticks / 5));
            return new CachedToken(value, started + lifetime - margin);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever the realm answers, the outcome is "no token" (and so an indeterminate verdict), never a crash.
            logger.LogWarning("Fetching a token from {Realm} failed: {Error}", realm.GetLeftPart(UriPartial.Path), e.Message);
            return null;
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>RFC 7235 auth-params: <c>key=value</c> or <c>key="quoted, value"</c>, separated by commas.</summary>
    internal static Dictionary<string, string> ParseParameters(string? parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var text = parameter ?? "";
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
                i++;
            var equals = text.IndexOf('=', i);
            if (equals < 0)
                break;
            var key = text[i..equals].Trim();
            i = equals + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                        i++;
                    value.Append(text[i]);
                }
                i++;
            }
            else
            {
                for (; i < text.Length && text[i] != ','; i++)
                    value.Append(text[i]);
            }
            if (key.Length > 0)
                result[key] = value.ToString().Trim();
        }
        return result;
    }
}
