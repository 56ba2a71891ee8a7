using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Listener.Configuration;

namespace RegistryIntegrity.Listener;

/// <summary>Every setting the Listener reads, checked before anything starts (see <see cref="SettingsCheck"/>).</summary>
internal static class ListenerSettings
{
    /// <returns>Warnings (unknown keys); throws <see cref="SettingsException"/> when a setting cannot work.</returns>
    public static IReadOnlyList<string> Check(IConfiguration configuration)
    {
        var check = new SettingsCheck(configuration);
        check.Section(ListenerOptions.SectionName, new ListenerOptionsValidator());
        RabbitMqOptions.Check(check);
        check.Urls();
        ManagementPort.Check(check);
        check.LogLevels();
        return check.ThrowIfInvalid();
    }
}
