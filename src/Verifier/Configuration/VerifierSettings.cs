using Microsoft.Data.Sqlite;
using Npgsql;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Api;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Configuration;

/// <summary>Which settings a process reads: the service reads all, each CLI verb only what it uses.</summary>
[Flags]
internal enum VerifierParts
{
    Registry = 1,
    Store = 2,
    Broker = 4,
    Sweep = 8,
    Web = 16,
    Api = 32,
    Service = Registry | Store | Broker | Sweep | Web | Api,
}

/// <summary>Every setting the Verifier reads, checked before anything starts (see <see cref="SettingsCheck"/>).</summary>
internal static class VerifierSettings
{
    /// <returns>Warnings (unknown keys); throws <see cref="SettingsException"/> when a setting cannot work.</returns>
    public static IReadOnlyList<string> Check(IConfiguration configuration, VerifierParts parts)
    {
        var check = new SettingsCheck(configuration);
        if (parts.HasFlag(VerifierParts.Registry))
            check.Section<RegistryOptions>(RegistryOptions.SectionName);
        if (parts.HasFlag(VerifierParts.Store) && check.Section<StoreOptions>(StoreOptions.SectionName) is { } store)
            CheckConnectionString(check, store);
        if (parts.HasFlag(VerifierParts.Sweep))
        {
            check.Section<SweepOptions>(SweepOptions.SectionName);
            check.Section<RegistryStorage.RegistryStorageOptions>(RegistryStorage.RegistryStorageOptions.SectionName);
        }
        if (parts.HasFlag(VerifierParts.Service))
            check.Section<Forecast.GcForecastOptions>(Forecast.GcForecastOptions.SectionName);
        if (parts.HasFlag(VerifierParts.Broker))
        {
            check.BrokerUri(RabbitMqOptions.ConnectionStringKey);
            check.Boolean(QueueNames.QuorumQueuesKey);
        }
        if (parts.HasFlag(VerifierParts.Web))
            check.Urls();
        if (parts.HasFlag(VerifierParts.Api))
            check.Section(ApiOptions.SectionName, new ApiOptionsValidator());
        check.LogLevels();
        return check.ThrowIfInvalid();
    }

    private static void CheckConnectionString(SettingsCheck check, StoreOptions store)
    {
        const string key = $"{StoreOptions.SectionName}:{nameof(StoreOptions.ConnectionString)}";
        try
        {
            if (store.Provider == StoreProvider.Postgres)
            {
                var postgres = new NpgsqlConnectionStringBuilder(store.ConnectionString);
                if (string.IsNullOrWhiteSpace(postgres.Host))
                    check.Problem($"{key} names no Host: expected a PostgreSQL connection string such as Host=db;Database=verifier;Username=verifier;Password=...");
            }
            else if (string.IsNullOrWhiteSpace(new SqliteConnectionStringBuilder(store.ConnectionString).DataSource))
                check.Problem($"{key} names no Data Source: expected a SQLite connection string such as Data Source=/data/verifier.db");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            // The message names the offending keyword; the value is not echoed (it may hold a password).
            check.Problem($"{key} is not a valid {store.Provider} connection string: {e.Message.Split('\n')[0].Trim()}");
        }
    }
}
