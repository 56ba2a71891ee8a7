using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Registry;

/// <summary>Anonymous, Basic and the token flow, against a registry and token realm in memory.</summary>
public sealed class Authenticating_to_the_registry : IDisposable
{
    private const string Repo = "team/app";
    private const string User = "ci-reader";
    private const string Password = "s3cret-Pa55word-not-for-logs";
    private static readonly Uri Realm = new("http://auth.test/token");

    private readonly FakeRegistry _registry = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly CapturedLogs _logs = new();
    private readonly List<string> _tokenRequests = [];
    private ServiceProvider? _services;
    private string _blob = "";

    public void Dispose() => _services?.Dispose();

    private RegistryClient Client(params (string Key, string? Value)[] settings)
    {
        _blob = _registry.AddBlob("some layer")["digest"]!.GetValue<string>();
        _services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl, settings), _registry, _time, _logs);
        return _services.GetRequiredService<RegistryClient>();
    }

    private static string Basic(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    /// <summary>The registry wants a token for the repository; the realm issues one per request, good for <paramref name="expiresIn"/>.</summary>
    private void RequireTokens(string? expiresIn = "300", string tokenField = "token")
    {
        var issued = 0;
        _registry.Intercept = request =>
        {
            if (request.RequestUri!.Host == Realm.Host)
            {
                _tokenRequests.Add(request.RequestUri.Query);
                if (request.Headers.Authorization?.Parameter != Basic(User, Password))
                    return new HttpResponseMessage(HttpStatusCode.Unauthorized);
                var lifetime = expiresIn is null ? "" : $",\"expires_in\":{expiresIn}";
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent($"{{\"{tokenField}\":\"token-{++issued}\"{lifetime}}}", Encoding.UTF8, "application/json"),
                };
            }
            if (request.Headers.Authorization is { Scheme: "Bearer", Parameter: { } token } && token == $"token-{issued}")
                return null;
            var scope = FakeRegistryScope(request.RequestUri);
            var challenge = FakeRegistry.Error(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            challenge.Headers.WwwAuthenticate.ParseAdd($"Bearer realm=\"{Realm}\",service=\"registry.test\"{scope}");
            return challenge;
        };
    }

    private static string FakeRegistryScope(Uri uri) =>
        uri.AbsolutePath.Contains("/blobs/", StringComparison.Ordinal) ? $",scope=\"repository:{Repo}:pull\"" : "";

    [Fact]
    public async Task A_token_is_fetched_with_Basic_credentials_and_reused_for_its_scope_until_it_expires()
    {
        RequireTokens(expiresIn: "300");
        var client = Client(("Username", User), ("Password", Password));

        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        Assert.Equal(["?service=registry.test&scope=repository%3Ateam%2Fapp%3Apull"], _tokenRequests);
        // After the first 401, later requests carry the token from the start.
        Assert.Equal(3, _registry.CountRequests("/blobs/"));

        _time.Advance(TimeSpan.FromSeconds(295));
        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        Assert.Equal(2, _tokenRequests.Count);
        Assert.DoesNotContain(Password, _logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Basic(User, Password), _logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_without_expires_in_lasts_60_seconds_and_access_token_is_understood()
    {
        RequireTokens(expiresIn: null, tokenField: "access_token");
        var client = Client(("Username", User), ("Password", Password));

        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        Assert.Single(_tokenRequests);

        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        Assert.Equal(2, _tokenRequests.Count);
    }

    [Fact]
    public async Task Credentials_the_realm_refuses_leave_the_object_indeterminate_not_missing()
    {
        RequireTokens();
        var client = Client(("Username", User), ("Password", "wrong"));

        var probe = await client.CheckBlobAsync(Repo, _blob, 10, default);

        Assert.Equal((ProbeOutcome.Indeterminate, 401), (probe.Outcome, probe.StatusCode));
        Assert.Contains("unauthorized", probe.Reason, StringComparison.Ordinal);
        Assert.Contains("answered 401", _logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", _logs.Text, StringComparison.Ordinal);

        // A sweep does not ask a refusing realm again for every request, only after a pause.
        await client.CheckBlobAsync(Repo, _blob, 10, default);
        Assert.Single(_tokenRequests);
        _time.Advance(RegistryAuthenticator.RealmFailureBackoff);
        await client.CheckBlobAsync(Repo, _blob, 10, default);
        Assert.Equal(2, _tokenRequests.Count);
    }

    [Fact]
    public async Task Basic_is_sent_after_the_registry_asks_for_it_and_from_then_on_up_front()
    {
        _registry.Intercept = request =>
        {
            if (request.Headers.Authorization?.Parameter == Basic(User, Password))
                return null;
            var challenge = FakeRegistry.Error(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            challenge.Headers.WwwAuthenticate.ParseAdd("Basic realm=\"registry\"");
            return challenge;
        };
        var client = Client(("Username", User), ("Password", Password));

        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);

        Assert.Equal([null, "Basic", "Basic"], _registry.Requests.Select(r => r.Authorization?.Scheme));
    }

    [Fact]
    public async Task Without_credentials_requests_are_anonymous_and_a_Basic_challenge_is_indeterminate()
    {
        var client = Client();
        Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        Assert.Null(_registry.Requests.Single().Authorization);

        _registry.Intercept = _ =>
        {
            var challenge = FakeRegistry.Error(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            challenge.Headers.WwwAuthenticate.ParseAdd("Basic realm=\"registry\"");
            return challenge;
        };
        Assert.Equal((ProbeOutcome.Indeterminate, 401), ((await client.CheckBlobAsync(Repo, _blob, 10, default)) is var p ? (p.Outcome, p.StatusCode) : default));
    }

    [Fact]
    public async Task Credentials_are_read_from_files_and_a_rotated_password_is_picked_up()
    {
        var folder = Directory.CreateTempSubdirectory("rit-secret-");
        try
        {
            var userFile = Path.Combine(folder.FullName, "username");
            var passwordFile = Path.Combine(folder.FullName, "password");
            await File.WriteAllTextAsync(userFile, User + "\n");
            await File.WriteAllTextAsync(passwordFile, "old-password\n");
            var accepted = "old-password";
            _registry.Intercept = request =>
            {
                if (request.Headers.Authorization?.Parameter == Basic(User, accepted))
                    return null;
                var challenge = FakeRegistry.Error(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
                challenge.Headers.WwwAuthenticate.ParseAdd("Basic realm=\"registry\"");
                return challenge;
            };
            var client = Client(("UsernameFile", userFile), ("PasswordFile", passwordFile));
            Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);

            accepted = Password;
            await File.WriteAllTextAsync(passwordFile, Password + "\n");
            File.SetLastWriteTimeUtc(passwordFile, DateTime.UtcNow.AddSeconds(5));
            Assert.Equal(ProbeOutcome.Present, (await client.CheckBlobAsync(Repo, _blob, 10, default)).Outcome);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Configuration_that_names_missing_files_or_two_sources_is_refused()
    {
        using var services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl,
            ("Password", "x"), ("PasswordFile", "/nonexistent/password"), ("CaCertificateFile", "/nonexistent/ca.pem")));

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => services.GetRequiredService<RegistryClient>());

        Assert.Contains(error.Failures, f => f.Contains("not both", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("CaCertificateFile names a file that does not exist", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"", "https://auth.example/token", "registry.example", "repository:a/b:pull,push")]
    [InlineData("realm=https://auth.example/token, service=reg", "https://auth.example/token", "reg", null)]
    public void Challenge_parameters_are_parsed_with_quoted_commas(string parameter, string realm, string service, string? scope)
    {
        var parsed = RegistryAuthenticator.ParseParameters(parameter);
        Assert.Equal(realm, parsed["realm"]);
        Assert.Equal(service, parsed["service"]);
        Assert.Equal(scope, parsed.GetValueOrDefault("scope"));
    }

    [Theory]
    [InlineData("http://r.test/v2/team/app/manifests/sha256:abc", "repository:team/app:pull")]
    [InlineData("http://r.test/v2/a/b/c/blobs/sha256:abc", "repository:a/b/c:pull")]
    [InlineData("http://r.test/v2/", "")]
    public void The_pull_scope_comes_from_the_request_path(string uri, string scope) =>
        Assert.Equal(scope, RegistryAuthenticationHandler.PullScope(new Uri(uri)));
}
