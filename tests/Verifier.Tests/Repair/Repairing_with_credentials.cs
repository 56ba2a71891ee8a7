using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Repair;

/// <summary>
/// Both registries with <c>auth.token</c> and an HTTPS realm trusted only through a CA bundle: the source is read
/// with its own credentials and bundle, and the uploads to the watched registry ask for (and get) a push scope.
/// </summary>
public sealed class Repairing_with_credentials : IAsyncLifetime
{
    private const string User = "repairer";
    private const string Password = "token-realm-password";
    private readonly string _folder = Directory.CreateTempSubdirectory("rit-repair-token-").FullName;
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"repair-token-{Guid.NewGuid():N}.db");
    private TokenServer _tokens = null!;
    private LocalStack _registry = null!;
    private LocalStack _source = null!;

    public async Task InitializeAsync()
    {
        _tokens = await TokenServer.StartAsync(User, Password);
        _tokens.GrantPush = true;
        var registry = LocalStack.StartAsync(StackServices.Registry, registryEnvironment: _tokens.RegistryEnvironment(_folder));
        _source = await LocalStack.StartAsync(StackServices.Registry, registryEnvironment: _tokens.RegistryEnvironment(_folder));
        _registry = await registry;
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        await _source.DisposeAsync();
        await _tokens.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_database);
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_layer_and_a_config_are_copied_with_tokens_from_each_registrys_realm()
    {
        const string Repository = "secured/app";
        var token = new AuthenticationHeaderValue("Bearer", _tokens.Mint(Repository, "pull", "push", "delete"));
        using var pusher = new RegistryPusher(_registry.RegistryUri, token);
        using var copy = new RegistryCopy(token);
        var image = await pusher.PushImageAsync(Repository, "v1", layers: 2);
        await copy.CopyAsync(_registry.RegistryUri, _source.RegistryUri, Repository, image.Digest, "v1");
        await pusher.DeleteBlobAsync(Repository, image.ConfigDigest);
        await pusher.DeleteBlobAsync(Repository, image.LayerDigests[1]);
        var passwordFile = Path.Combine(_folder, "source-password");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        var bundle = TestCertificates.WritePem(_tokens.Authority, _folder, "realm-ca.pem");
        var settings = new Dictionary<string, string?>
        {
            ["Registry:BaseUrl"] = _registry.RegistryUri.ToString(),
            ["Registry:Username"] = User,
            ["Registry:Password"] = Password,
            ["Registry:CaCertificateFile"] = bundle,
            ["Store:Provider"] = "Sqlite",
            ["Store:ConnectionString"] = $"Data Source={_database}",
            ["Repair:Sources:0:BaseUrl"] = _source.RegistryUri.ToString(),
            ["Repair:Sources:0:Username"] = User,
            ["Repair:Sources:0:PasswordFile"] = passwordFile,
            ["Repair:Sources:0:CaCertificateFile"] = bundle,
        };
        using var services = await TwoRegistries.ServicesAsync(settings);

        var run = await services.GetRequiredService<RepairService>().RunAsync(new RepairRequest(Repository, image.Digest, Apply: true), null, default);

        var report = Assert.Single(run.Manifests);
        Assert.True(run.Result == RepairResults.Repaired, string.Join("; ", report.StillMissing.Select(m => $"{m.Digest}: {m.Why}")));
        Assert.Equal(
            new[] { image.ConfigDigest, image.LayerDigests[1] }.Order(),
            report.Actions.Where(a => a.Status == "copied").Select(a => a.Digest).Order());
        Assert.Empty(await copy.PullAsync(_registry.RegistryUri, Repository, "v1"));
    }
}
