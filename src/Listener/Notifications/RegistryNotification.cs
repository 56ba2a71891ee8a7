using System.Text.Json.Serialization;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>The registry's envelope, <c>{"events":[...]}</c>. Only the fields we use are bound.</summary>
public sealed record NotificationEnvelope(IReadOnlyList<RegistryEvent?>? Events);

public sealed record RegistryEvent(
    string? Id,
    DateTimeOffset? Timestamp,
    string? Action,
    EventTarget? Target,
    EventSource? Source);

public sealed record EventTarget(
    string? MediaType,
    string? Digest,
    long? Size,
    string? Repository,
    string? FromRepository,
    string? Tag);

public sealed record EventSource(
    string? Addr,
    [property: JsonPropertyName("instanceID")] string? InstanceId);

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 16)]
[JsonSerializable(typeof(NotificationEnvelope))]
internal sealed partial class NotificationJsonContext : JsonSerializerContext;
