using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Repair;

/// <summary>Two real registries 2.8.2: the one the Verifier watches (where images get broken) and a source that still has them.</summary>
public sealed class TwoRegistries : IAsyncLifetime
{
    public LocalStack Registry { get; private set; } = null!;

    public LocalStack Source { get; private set; } = null!;

    public string Storage => Path.Combine(Registry.StackDir, "registry", "data", "docker", "registry", "v2");

    public async Task InitializeAsync()
    {
        var registry = LocalStack.StartAsync(StackServices.Registry);
        var source = LocalStack.StartAsync(StackServices.Registry);
        Registry = await registry;
        Source = await source;
    }

    public async Task DisposeAsync()
    {
        if (Registry is not null)
            await Registry.DisposeAsync();
        if (Source is not null)
            await Source.DisposeAsync();
    }

    /// <summary>The settings of a Verifier for <see cref="Registry"/> with <see cref="Source"/> as its repair source, over a SQLite store.</summary>
    public Dictionary<string, string?> Settings(string database, params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Registry:BaseUrl"] = Registry.RegistryUri.ToString(),
            ["Store:Provider"] = "Sqlite",
            ["Store:ConnectionString"] = $"Data Source={database}",
            ["Repair:Sources:0:Name"] = "backup",
            ["Repair:Sources:0:BaseUrl"] = Source.RegistryUri.ToString(),
        };
        foreach (var (key, value) in extra)
            settings[key] = value;
        return settings;
    }

    /// <summary>Verification, store, sweeps and repair, composed as the service composes them.</summary>
    public static async Task<ServiceProvider> ServicesAsync(Dictionary<string, string?> settings, CapturedLogs? logs = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = VerifierServices.Create(settings, logs: logs, configure: s =>
        {
            s.AddDapperRepositories();
            s.AddSweeps();
            s.AddRepair(configuration);
        });
        await services.GetRequiredService<IVerdictStore>().MigrateAsync(CancellationToken.None);
        return services;
    }

    /// <summary>Every file under the registry's storage with its size: what a dry run must leave as it was.</summary>
    public IReadOnlyList<string> StorageSnapshot() =>
        [.. Directory.EnumerateFiles(Storage, "*", SearchOption.AllDirectories).Select(f => $"{Path.GetRelativePath(Storage, f)} {new FileInfo(f).Length}").Order(StringComparer.Ordinal)];

    public void RemoveBlobData(string digest) =>
        File.Delete(Path.Combine(Storage, "blobs", "sha256", digest[7..9], digest[7..], "data"));
}
