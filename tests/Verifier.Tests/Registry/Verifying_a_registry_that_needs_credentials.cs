using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Registry;

/// <summary>The real registry 2.8.2 with <c>auth.token</c>, its realm a small HTTPS token server made in the test.</summary>
public sealed class Verifying_a_token_auth_registry : IAsyncLifetime
{
    private const string User = "verifier";
    private const string Password = "token-realm-password";
    private readonly string _folder = Directory.CreateTempSubdirectory("rit-token-").FullName;
    private TokenServer _tokens = null!;
    private LocalStack _stack = null!;

    public async Task InitializeAsync()
    {
        _tokens = await TokenServer.StartAsync(User, Password);
        _stack = await LocalStack.StartAsync(StackServices.Registry, registryEnvironment: _tokens.RegistryEnvironment(_folder));
    }

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        await _tokens.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private ServiceProvider Services(string password, bool trustRealm = true) => VerifierServices.Create(VerifierServices.Configuration(_stack.RegistryUri,
        ("Username", User), ("Password", password), ("CaCertificateFile", trustRealm ? TestCertificates.WritePem(_tokens.Authority, _folder, "realm-ca.pem") : null)));

    [Fact]
    public async Task An_index_is_walked_with_tokens_from_the_realm_trusted_through_the_CA_bundle()
    {
        const string Repository = "secured/app";
        using (var pusher = new RegistryPusher(_stack.RegistryUri, new AuthenticationHeaderValue("Bearer", _tokens.Mint(Repository, "pull", "push", "delete"))))
        {
            var index = await pusher.PushIndexAsync(Repository, "v1");
            using var services = Services(Password);

            var walk = await services.GetRequiredService<ManifestWalker>().WalkAsync(Repository, index.Digest, default);

            Assert.Equal(VerdictResult.Healthy, walk.Result);
            Assert.Equal(5, walk.Manifests.Count);
            // One token for the repository's pull scope, reused by every request of the walk.
            Assert.Equal(1, _tokens.TokensIssued);

            await pusher.DeleteManifestAsync(Repository, index.Children[1].Digest);
            var broken = await services.GetRequiredService<ManifestWalker>().WalkAsync(Repository, index.Digest, default);
            Assert.Equal(index.Children[1].Digest, Assert.Single(broken.Missing).Digest);
        }
    }

    [Theory]
    [InlineData("wrong-password", true)]
    [InlineData(Password, false)]
    public async Task Credentials_or_a_realm_that_cannot_be_used_give_indeterminate_never_broken(string password, bool trustRealm)
    {
        const string Repository = "secured/other";
        using var pusher = new RegistryPusher(_stack.RegistryUri, new AuthenticationHeaderValue("Bearer", _tokens.Mint(Repository, "pull", "push")));
        var image = await pusher.PushImageAsync(Repository, "v1");
        using var services = Services(password, trustRealm);

        var walk = await services.GetRequiredService<ManifestWalker>().WalkAsync(Repository, image.Digest, default);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Empty(walk.Missing);
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains("unauthorized", StringComparison.Ordinal));
    }
}

/// <summary>The real registry 2.8.2 with <c>auth.htpasswd</c> (bcrypt, written by <c>htpasswd -B</c>).</summary>
public sealed class Verifying_an_htpasswd_registry : IAsyncLifetime
{
    private const string User = "ci-reader";
    private const string Password = "htpasswd-Pa55";
    private readonly string _folder = Directory.CreateTempSubdirectory("rit-htpasswd-").FullName;
    private HtpasswdRegistry _registry = null!;
    private LocalStack _stack = null!;

    public async Task InitializeAsync()
    {
        _registry = await HtpasswdRegistry.StartAsync(User, Password);
        _stack = _registry.Stack;
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task An_index_is_walked_with_Basic_credentials_read_from_a_secret_file()
    {
        using var pusher = new RegistryPusher(_stack.RegistryUri, User, Password);
        var index = await pusher.PushIndexAsync("basic/app", "v1");
        var passwordFile = Path.Combine(_folder, "password");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        using var services = VerifierServices.Create(VerifierServices.Configuration(_stack.RegistryUri, ("Username", User), ("PasswordFile", passwordFile)));

        var walk = await services.GetRequiredService<ManifestWalker>().WalkAsync("basic/app", index.Digest, default);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(5, walk.Manifests.Count);
    }

    [Fact]
    public async Task Without_credentials_the_walk_is_indeterminate_never_broken()
    {
        using var pusher = new RegistryPusher(_stack.RegistryUri, User, Password);
        var image = await pusher.PushImageAsync("basic/anonymous", "v1");
        using var services = VerifierServices.Create(VerifierServices.Configuration(_stack.RegistryUri));

        var walk = await services.GetRequiredService<ManifestWalker>().WalkAsync("basic/anonymous", image.Digest, default);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Empty(walk.Missing);
        Assert.Equal(ProbeOutcome.Present, (await services.GetRequiredService<RegistryClient>().PingAsync(default)).Outcome);
    }
}
