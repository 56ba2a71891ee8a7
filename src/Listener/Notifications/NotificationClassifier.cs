using System.Text.Json;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>What a notification's body holds, sorted: the events to publish, those ignored, those invalid, and what makes the envelope as a whole unusable.</summary>
/// <param name="PublishedActions">The action of each of <paramref name="ToPublish"/>, in the same order.</param>
/// <param name="SourceInstanceIds">The sending registry's <c>source.instanceID</c> of each event (null where it has none).</param>
/// <param name="EnvelopeProblem">Set when the envelope is quarantined whole (then no event is published).</param>
public sealed record ClassifiedNotification(
    IReadOnlyList<IRegistryEvent> ToPublish,
    IReadOnlyList<string> PublishedActions,
    IReadOnlyList<string> Ignored,
    IReadOnlyList<(string Action, string Reason)> Invalid,
    IReadOnlyList<string?> SourceInstanceIds,
    string? EnvelopeProblem)
{
    /// <summary>Why the body goes to quarantine, if it does: the envelope's problem, or every invalid event's.</summary>
    public string? QuarantineReason { get; } = EnvelopeProblem
        ?? (Invalid.Count == 0 ? null : string.Join("; ", Invalid.Select(i => $"{i.Action} event: {i.Reason}")));

    /// <summary>How many notifications' worth went to quarantine: the whole envelope counts once.</summary>
    public int QuarantinedCount => EnvelopeProblem is null ? Invalid.Count : 1;
}

/// <summary>Sorts a notification's body with <see cref="EventTranslator"/>. Pure logic: no I/O.</summary>
public static class NotificationClassifier
{
    /// <summary>Registries send one event per POST; an envelope with more than this is quarantined whole.</summary>
    public const int MaxEventsPerEnvelope = 256;

    internal static readonly string[] AcceptedMediaTypes =
    [
        "application/vnd.docker.distribution.events.v1+json",
        "application/vnd.docker.distribution.events.v2+json",
        "application/json",
    ];

    /// <param name="tooLarge">The body was cut at <paramref name="maxBodyBytes"/>.</param>
    public static ClassifiedNotification Classify(byte[] body, bool tooLarge, string? contentType, long maxBodyBytes)
    {
        if (tooLarge)
            return Unusable($"the body exceeds {maxBodyBytes} bytes");
        if (!IsAcceptedContentType(contentType))
            return Unusable($"Content-Type {LogText.Printable(contentType)} is not one of {string.Join(", ", AcceptedMediaTypes)}");
        IReadOnlyList<RegistryEvent?> events;
        try
        {
            var envelope = JsonSerializer.Deserialize(body, NotificationJsonContext.Default.NotificationEnvelope);
            if (envelope?.Events is not { Count: > 0 } parsed)
                return Unusable("the envelope has no events");
            if (parsed.Count > MaxEventsPerEnvelope)
                return Unusable($"the envelope has {parsed.Count} events, more than {MaxEventsPerEnvelope}");
            events = parsed;
        }
        catch (JsonException e)
        {
            return Unusable($"not a notification envelope: {e.Message}");
        }

        var toPublish = new List<IRegistryEvent>(1);
        var actions = new List<string>(1);
        var ignored = new List<string>(0);
        var invalid = new List<(string, string)>(0);
        var instances = new List<string?>(events.Count);
        foreach (var registryEvent in events)
        {
            var translated = EventTranslator.Translate(registryEvent);
            switch (translated.Outcome)
            {
                case EventOutcome.Publish:
                    toPublish.Add(translated.Message!);
                    actions.Add(translated.Action);
                    break;
                case EventOutcome.Ignore:
                    ignored.Add(translated.Action);
                    break;
                default:
                    invalid.Add((translated.Action, translated.Reason!));
                    break;
            }
            instances.Add(translated.SourceInstanceId);
        }
        return new ClassifiedNotification(toPublish, actions, ignored, invalid, instances, EnvelopeProblem: null);
    }

    private static ClassifiedNotification Unusable(string problem) => new([], [], [], [], [], problem);

    private static bool IsAcceptedContentType(string? contentType)
    {
        if (contentType is null)
            return false;
        var mediaType = contentType.AsSpan();
        var semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
            mediaType = mediaType[..semicolon];
        mediaType = mediaType.Trim();
        foreach (var accepted in AcceptedMediaTypes)
        {
            if (mediaType.Equals(accepted, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }
}
