using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.Listener.Notifications;
using RegistryIntegrity.Listener.Tests.Fixtures;

namespace RegistryIntegrity.Listener.Tests;

/// <summary>The pure classification of a notification's body (end to end: <see cref="Posting_notifications"/>).</summary>
public class Classifying_notifications
{
    private const string V1 = "application/vnd.docker.distribution.events.v1+json";

    private static JsonNode Event(string fixture) => JsonNode.Parse(RegistryFixtures.Body(fixture))!["events"]![0]!;

    private static byte[] Envelope(params JsonNode[] events) =>
        Encoding.UTF8.GetBytes(new JsonObject { ["events"] = new JsonArray([.. events.Select(e => e.DeepClone())]) }.ToJsonString());

    [Fact]
    public void Each_event_is_sorted_and_every_invalid_ones_reason_is_kept_in_order()
    {
        var badDigest = Event("manifest-delete-by-digest");
        badDigest["target"]!["digest"] = "sha256:short";
        var noId = Event("manifest-push-by-tag");
        noId["id"] = "";

        var classified = NotificationClassifier.Classify(
            Envelope(Event("manifest-push-by-tag"), Event("manifest-pull-get-by-tag"), badDigest, noId), tooLarge: false, V1 + "; charset=utf-8", 1024 * 1024);

        Assert.Null(classified.EnvelopeProblem);
        Assert.Equal(["push"], classified.PublishedActions);
        Assert.Single(classified.ToPublish);
        Assert.Equal(["pull"], classified.Ignored);
        Assert.Equal(4, classified.SourceInstanceIds.Count);
        Assert.Equal(2, classified.QuarantinedCount);
        Assert.Equal(
            "delete event: target.digest is not a valid sha256/sha512 digest; push event: id is missing or longer than 128 characters",
            classified.QuarantineReason);
    }

    [Fact]
    public void An_envelope_with_more_events_than_a_registry_sends_is_quarantined_whole()
    {
        var events = Enumerable.Range(0, NotificationClassifier.MaxEventsPerEnvelope + 1).Select(_ => Event("manifest-push-by-tag")).ToArray();

        var classified = NotificationClassifier.Classify(Envelope(events), tooLarge: false, V1, 1024 * 1024);

        Assert.Empty(classified.ToPublish);
        Assert.Empty(classified.SourceInstanceIds);
        Assert.Equal(1, classified.QuarantinedCount);
        Assert.Equal($"the envelope has {NotificationClassifier.MaxEventsPerEnvelope + 1} events, more than {NotificationClassifier.MaxEventsPerEnvelope}", classified.QuarantineReason);
    }

    [Fact]
    public void A_cut_body_is_quarantined_for_its_size_before_its_content_type_is_looked_at()
    {
        var classified = NotificationClassifier.Classify(Envelope(Event("manifest-push-by-tag")), tooLarge: true, "text/plain", 100);

        Assert.Empty(classified.ToPublish);
        Assert.Equal("the body exceeds 100 bytes", classified.QuarantineReason);
    }
}
