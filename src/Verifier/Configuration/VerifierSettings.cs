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
            check.Section(RegistryOptions.SectionName, new RegistryOptionsValidator());
        if (parts.HasFlag(VerifierParts.Store))
            check.Section(StoreOptions.SectionName, new StoreOptionsValidator());
        if (parts.HasFlag(VerifierParts.Sweep))
        {
            check.Section<SweepOptions>(SweepOptions.SectionName);
            check.Section<RegistryStorage.RegistryStorageOptions>(RegistryStorage.RegistryStorageOptions.SectionName);
        }
        if (parts.HasFlag(VerifierParts.Service))
            check.Section<Forecast.GcForecastOptions>(Forecast.GcForecastOptions.SectionName);
        if (parts.HasFlag(VerifierParts.Broker))
            RabbitMqOptions.Check(check);
        if (parts.HasFlag(VerifierParts.Web))
        {
            check.Urls();
            ManagementPort.Check(check);
        }
        if (parts.HasFlag(VerifierParts.Api))
            check.Section(ApiOptions.SectionName, new ApiOptionsValidator());
        check.LogLevels();
        return check.ThrowIfInvalid();
    }
}
