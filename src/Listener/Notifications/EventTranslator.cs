using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Listener.Notifications;

public enum EventOutcome { Publish, Ignore, Invalid }

/// <summary>What one registry event becomes: a message to publish, an event we ignore, or an invalid one.</summary>
/// <param name="SourceInstanceId">The sending registry's <c>source.instanceID</c>, set for every valid event (published or ignored).</param>
public sealed record TranslatedEvent(EventOutcome Outcome, string Action, IRegistryEvent? Message, string? Reason, string? SourceInstanceId = null)
{
    public static TranslatedEvent Ignored(string action, string reason, string? sourceInstanceId) =>
        new(EventOutcome.Ignore, action, null, reason, sourceInstanceId);

    public static TranslatedEvent Invalid(string action, string reason) => new(EventOutcome.Invalid, action, null, reason);
}

/// <summary>
/// Validates a registry event and maps it to a contract. Pure logic: no I/O.
/// 3.x serialises empty descriptor fields (<c>"digest":""</c>), so empty strings count as absent.
/// </summary>
public static partial class EventTranslator
{
    public const string BlobMediaType = "application/octet-stream";
    private static readonly string[] KnownActions = ["push", "pull", "mount", "delete"];

    public static TranslatedEvent Translate(RegistryEvent? registryEvent)
    {
        if (registryEvent is null)
            return TranslatedEvent.Invalid("unknown", "event is null");
        var action = Blank(registryEvent.Action);
        var label = action is not null && KnownActions.Contains(action) ? action : "unknown";
        if (action is null)
            return TranslatedEvent.Invalid(label, "action is missing");
        if (label == "unknown")
            return TranslatedEvent.Invalid(label, "action is not one of push, pull, mount, delete");
        var instanceId = RegistryInstanceId.IsValid(registryEvent.Source?.InstanceId) ? registryEvent.Source!.InstanceId : null;
        if (action == "pull")
            return TranslatedEvent.Ignored(label, "pull", instanceId);

        var target = registryEvent.Target;
        var id = Blank(registryEvent.Id);
        if (id is null || id.Length > 128)
            return TranslatedEvent.Invalid(label, "id is missing or longer than 128 characters");
        if (registryEvent.Timestamp is not { } occurredAt)
            return TranslatedEvent.Invalid(label, "timestamp is missing");
        if (target is null)
            return TranslatedEvent.Invalid(label, "target is missing");
        var repository = Blank(target.Repository);
        if (!ReferenceGrammar.IsRepository(repository))
            return TranslatedEvent.Invalid(label, "target.repository is missing or not a valid repository name");
        var digest = Blank(target.Digest);
        if (digest is not null && !ReferenceGrammar.IsDigest(digest))
            return TranslatedEvent.Invalid(label, "target.digest is not a valid sha256/sha512 digest");
        var tag = Blank(target.Tag);
        if (tag is not null && !ReferenceGrammar.IsTag(tag))
            return TranslatedEvent.Invalid(label, "target.tag is not a valid tag");
        var mediaType = Blank(target.MediaType);
        if (mediaType is not null && !IsMediaType(mediaType))
            return TranslatedEvent.Invalid(label, "target.mediaType is not a media type");
        var fromRepository = Blank(target.FromRepository);
        if (fromRepository is not null && !ReferenceGrammar.IsRepository(fromRepository))
            return TranslatedEvent.Invalid(label, "target.fromRepository is not a valid repository name");

        switch (action)
        {
            case "push" or "mount" when mediaType == BlobMediaType:
                return TranslatedEvent.Ignored(label, "blob", instanceId);
            case "push" or "mount" when mediaType is null:
                return TranslatedEvent.Invalid(label, "push without target.mediaType: cannot tell a manifest from a blob");
            case "push" or "mount" when digest is null:
                return TranslatedEvent.Invalid(label, "manifest event without target.digest");
            case "push" or "mount":
                return new(EventOutcome.Publish, label, new ManifestPushed
                {
                    EventId = id, OccurredAt = occurredAt, Repository = repository!, SourceInstanceId = instanceId,
                    Digest = digest!, MediaType = mediaType, Tag = tag, FromRepository = fromRepository,
                }, null, instanceId);
            case "delete" when digest is not null:
                return new(EventOutcome.Publish, label, new DigestDeleted
                {
                    EventId = id, OccurredAt = occurredAt, Repository = repository!, SourceInstanceId = instanceId, Digest = digest,
                }, null, instanceId);
            case "delete" when tag is not null:
                return new(EventOutcome.Publish, label, new TagDeleted
                {
                    EventId = id, OccurredAt = occurredAt, Repository = repository!, SourceInstanceId = instanceId, Tag = tag,
                }, null, instanceId);
            default:
                return TranslatedEvent.Invalid(label, "delete without target.digest or target.tag");
        }
    }

    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>RFC 6838 <c>type/subtype</c> (restricted-name characters, 127 each), no parameters: what manifests and blobs carry.</summary>
    private static bool IsMediaType(string value) => value.Length <= 255 && MediaTypePattern().IsMatch(value);

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\z")]
    private static partial System.Text.RegularExpressions.Regex MediaTypePattern();
}
