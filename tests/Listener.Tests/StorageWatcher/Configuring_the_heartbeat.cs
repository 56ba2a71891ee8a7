using Microsoft.Extensions.Configuration;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Listener.StorageWatcher;

namespace RegistryIntegrity.Listener.Tests.StorageWatcher;

/// <summary><c>StorageWatcher:HeartbeatInterval</c> as the start-up check reads it.</summary>
public sealed class Configuring_the_heartbeat
{
    private static StorageWatcherOptions? Check(string? interval)
    {
        var settings = new Dictionary<string, string?> { ["StorageWatcher:Root"] = "/var/lib/registry" };
        if (interval is not null)
            settings["StorageWatcher:HeartbeatInterval"] = interval;
        var check = new SettingsCheck(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        var options = check.Section<StorageWatcherOptions>(StorageWatcherOptions.SectionName);
        check.ThrowIfInvalid();
        return options;
    }

    [Fact]
    public void Defaults_to_thirty_seconds_and_accepts_a_duration()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Check(null)!.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(90), Check("1.5m")!.HeartbeatInterval);
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("500ms")]
    [InlineData("2h")]
    [InlineData("-30s")]
    [InlineData("often")]
    public void Refuses_an_interval_outside_one_second_to_one_hour_naming_the_key(string interval)
    {
        var error = Assert.Throws<SettingsException>(() => Check(interval));
        Assert.Contains("StorageWatcher:HeartbeatInterval", error.Message, StringComparison.Ordinal);
    }
}
