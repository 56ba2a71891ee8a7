using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Verifier.Api;

public enum ApiAccess { Read, Write }

/// <summary>
/// Bearer-token check for the API: writes (starting a sweep, a repair) need a token whenever <c>Api:Tokens</c> is set;
/// reads too unless <c>Api:ReadsNeedToken=false</c>. Tokens are compared as SHA-256 hashes in constant time.
/// </summary>
public sealed class ApiTokens
{
    private readonly ApiOptions _options;
    private readonly byte[][] _hashes;

    public ApiTokens(IOptions<ApiOptions> options)
    {
        _options = options.Value;
        _hashes = [.. _options.Tokens.Select(t => SHA256.HashData(Encoding.UTF8.GetBytes(t)))];
    }

    public bool Configured => _hashes.Length > 0;

    public bool Allows(ApiAccess access, string? authorization)
    {
        if (!Configured || (access == ApiAccess.Read && !_options.ReadsProtected))
            return true;
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization["Bearer ".Length..].Trim()));
        var match = false;
        foreach (var hash in _hashes)
            match |= CryptographicOperations.FixedTimeEquals(hash, presented);
        return match;
    }

    /// <summary>An endpoint filter: 401 with <c>WWW-Authenticate: Bearer</c> unless the request may do <paramref name="access"/>.</summary>
    public static IEndpointFilter Require(ApiAccess access) => new Filter(access);

    private sealed class Filter(ApiAccess access) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var http = context.HttpContext;
            if (http.RequestServices.GetRequiredService<ApiTokens>().Allows(access, http.Request.Headers.Authorization.FirstOrDefault()))
                return await next(context);
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"registry-integrity-verifier\"";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized,
                detail: access == ApiAccess.Write ? "Starting a sweep or a repair needs a bearer token from Api:Tokens." : "Reading needs a bearer token from Api:Tokens.");
        }
    }
}
