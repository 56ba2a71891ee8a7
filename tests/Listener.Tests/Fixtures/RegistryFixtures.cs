using System.Text.Json;
using RegistryIntegrity.Listener.Notifications;

namespace RegistryIntegrity.Listener.Tests.Fixtures;

/// <summary>Real notification envelopes captured from distribution 2.8.2 (see Fixtures/registry-events).</summary>
public static class RegistryFixtures
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "registry-events");

    public static byte[] Body(string name) => File.ReadAllBytes(Path.Combine(Directory, $"{name}.json"));

    public static RegistryEvent Event(string name) =>
        JsonSerializer.Deserialize(Body(name), NotificationJsonContext.Default.NotificationEnvelope)!.Events!.Single()!;

    public static IEnumerable<string> EnvelopeNames => System.IO.Directory.GetFiles(Directory, "*.json")
        .Select(Path.GetFileNameWithoutExtension)
        .Where(n => n != "index" && !n!.EndsWith(".headers", StringComparison.Ordinal))
        .Select(n => n!);
}
