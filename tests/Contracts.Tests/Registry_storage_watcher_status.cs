using System.Text.Json;
using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Contracts.Tests;

public class Registry_storage_watcher_status
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Names_the_watcher_as_its_removal_messages_do()
    {
        Assert.Equal("registry-0:/var/lib/registry", RegistryStorageWatcherStatus.WatcherId("registry-0", "/var/lib/registry"));
    }

    [Fact]
    public void Knows_exactly_two_states()
    {
        Assert.Equal(["not-watching", "watching"], RegistryStorageWatcherStates.All.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(RegistryStorageWatcherStates.Watching, null)]
    [InlineData(RegistryStorageWatcherStates.NotWatching, "/var/lib/registry/docker/registry/v2 is gone (unmounted or removed)")]
    public void Survives_the_wire_as_camel_case_json_with_every_field(string state, string? reason)
    {
        var sent = new RegistryStorageWatcherStatus
        {
            Watcher = "registry-0:/var/lib/registry", State = state, Reason = reason, Since = T0, SentAt = T0.AddSeconds(95),
            HeartbeatInterval = TimeSpan.FromSeconds(30),
        };
        // MassTransit's serializer: System.Text.Json with the web defaults (camelCase).
        var json = JsonSerializer.Serialize(sent, JsonSerializerOptions.Web);

        using var document = JsonDocument.Parse(json);
        Assert.Equal(
            ["heartbeatInterval", "reason", "sentAt", "since", "state", "watcher"],
            document.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(sent, JsonSerializer.Deserialize<RegistryStorageWatcherStatus>(json, JsonSerializerOptions.Web));
    }
}
