using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RegistryIntegrity.Verifier.Tests.Support;

/// <summary>
/// A token realm for a registry with <c>auth.token</c>: checks Basic credentials and issues RS256
/// JWTs whose <c>x5c</c> header carries the signing certificate, which is the registry's
/// <c>rootcertbundle</c>. Served over HTTPS with a certificate from <see cref="Authority"/>.
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    public const string Service = "integrity-test-registry";
    public const string Issuer = "integrity-test-issuer";

    private readonly X509Certificate2 _signing;
    private readonly RSA _key;
    private LoopbackServer _server = null!;
    private int _issued;

    private TokenServer(string user, string password)
    {
        User = user;
        Password = password;
        _key = RSA.Create(2048);
        var request = new CertificateRequest("CN=token signer", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        _signing = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Authority = TestCertificates.CreateAuthority("token realm test CA");
    }

    public string User { get; }

    public string Password { get; }

    /// <summary>The CA of the realm's TLS certificate: what <c>Registry:CaCertificateFile</c> must hold.</summary>
    public X509Certificate2 Authority { get; }

    public Uri Realm => new(_server.BaseUri, "token");

    public int TokensIssued => _issued;

    /// <summary>Grant <c>push</c> when a scope asks for it (a repair writes); by default the realm grants pull only.</summary>
    public bool GrantPush { get; set; }

    public static async Task<TokenServer> StartAsync(string user, string password)
    {
        var tokens = new TokenServer(user, password);
        tokens._server = await LoopbackServer.StartAsync(
            app => app.MapGet("/token", (HttpContext context) => tokens.Issue(context)), TestCertificates.CreateServer(tokens.Authority));
        return tokens;
    }

    /// <summary>The registry's configuration overrides that trust this realm; the signing certificate is written to <paramref name="folder"/>.</summary>
    public Dictionary<string, string> RegistryEnvironment(string folder) => new()
    {
        ["REGISTRY_AUTH"] = "token",
        ["REGISTRY_AUTH_TOKEN_REALM"] = Realm.ToString(),
        ["REGISTRY_AUTH_TOKEN_SERVICE"] = Service,
        ["REGISTRY_AUTH_TOKEN_ISSUER"] = Issuer,
        ["REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE"] = TestCertificates.WritePem(_signing, folder, "token-signer.pem"),
    };

    /// <summary>A token for pushing in tests, minted directly.</summary>
    public string Mint(string repository, params string[] actions) => Sign(User, [new Access(repository, actions)]);

    private IResult Issue(HttpContext context)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));
        if (context.Request.Headers.Authorization != expected)
            return Results.Unauthorized();
        var access = new List<Access>();
        foreach (var scope in context.Request.Query["scope"])
        {
            var parts = scope!.Split(':');
            if (parts is ["repository", .. var name, var actions])
                access.Add(new Access(string.Join(':', name), actions.Split(',').Where(a => a == "pull" || (GrantPush && a == "push")).ToArray()));
        }
        Interlocked.Increment(ref _issued);
        return Results.Json(new { token = Sign(User, access), expires_in = 300 });
    }

    private sealed record Access(string Repository, string[] Actions);

    private string Sign(string subject, IEnumerable<Access> access)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "RS256", ["x5c"] = new JsonArray(Convert.ToBase64String(_signing.RawData)) };
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = Service,
            ["exp"] = now + 300,
            ["nbf"] = now - 30,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = new JsonArray([.. access.Select(a => (JsonNode)new JsonObject
            {
                ["type"] = "repository",
                ["name"] = a.Repository,
                ["actions"] = new JsonArray([.. a.Actions.Select(x => (JsonNode)x)]),
            })]),
        };
        var signingInput = $"{Base64Url(header.ToJsonString())}.{Base64Url(claims.ToJsonString())}";
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    private static string Base64Url(string text) => Base64Url(Encoding.UTF8.GetBytes(text));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _signing.Dispose();
        _key.Dispose();
        Authority.Dispose();
    }
}
