using RegistryIntegrity.Contracts;
using RegistryIntegrity.Listener.Notifications;
using RegistryIntegrity.Listener.Tests.Fixtures;

namespace RegistryIntegrity.Listener.Tests;

public class Translating_registry_events
{
    [Theory]
    [InlineData("manifest-push-by-tag")]
    [InlineData("manifest-push-by-tag-with-references")]
    [InlineData("index-push-by-tag")]
    [InlineData("manifest-list-push-by-tag")]
    public void A_manifest_push_by_tag_becomes_ManifestPushed_with_its_tag(string fixture)
    {
        var source = RegistryFixtures.Event(fixture);
        var translated = EventTranslator.Translate(source);

        var message = Assert.IsType<ManifestPushed>(translated.Message);
        Assert.Equal(EventOutcome.Publish, translated.Outcome);
        Assert.Equal(source.Id, message.EventId);
        Assert.Equal(source.Target!.Digest, message.Digest);
        Assert.Equal(source.Target.Repository, message.Repository);
        Assert.Equal(source.Target.Tag, message.Tag);
        Assert.Equal(source.Target.MediaType, message.MediaType);
        Assert.Equal(source.Timestamp, message.OccurredAt);
        Assert.Equal(source.Source!.InstanceId, message.SourceInstanceId);
        Assert.NotNull(message.Tag);
    }

    [Theory]
    [InlineData("MyOrg/app")]
    [InlineData("host:5000/app")]
    [InlineData("registry.example.com/team/app")]
    public void A_repository_whose_first_component_looks_like_a_domain_is_published_not_quarantined(string repository)
    {
        var source = RegistryFixtures.Event("manifest-push-by-tag");
        var translated = EventTranslator.Translate(source with { Target = source.Target! with { Repository = repository } });

        Assert.Equal(EventOutcome.Publish, translated.Outcome);
        Assert.Equal(repository, Assert.IsType<ManifestPushed>(translated.Message).Repository);
    }

    [Fact]
    public void A_child_manifest_pushed_by_digest_has_no_tag()
    {
        var message = Assert.IsType<ManifestPushed>(EventTranslator.Translate(RegistryFixtures.Event("child-manifest-push-by-digest")).Message);
        Assert.Null(message.Tag);
    }

    [Theory]
    [InlineData("blob-push", "push", "blob")]
    [InlineData("blob-mount", "mount", "blob")]
    [InlineData("manifest-pull-get-by-tag", "pull", "pull")]
    [InlineData("manifest-pull-head-by-tag", "pull", "pull")]
    [InlineData("blob-pull-head", "pull", "pull")]
    public void Pulls_and_blob_uploads_are_ignored(string fixture, string action, string reason)
    {
        var translated = EventTranslator.Translate(RegistryFixtures.Event(fixture));
        Assert.Equal(EventOutcome.Ignore, translated.Outcome);
        Assert.Equal(action, translated.Action);
        Assert.Equal(reason, translated.Reason);
        Assert.Null(translated.Message);
    }

    [Theory]
    [InlineData("manifest-delete-by-digest")]
    [InlineData("blob-delete")]
    public void A_delete_by_digest_becomes_DigestDeleted_whether_manifest_or_blob(string fixture)
    {
        var source = RegistryFixtures.Event(fixture);
        var message = Assert.IsType<DigestDeleted>(EventTranslator.Translate(source).Message);
        Assert.Equal(source.Target!.Digest, message.Digest);
        Assert.Equal(source.Target.Repository, message.Repository);
    }

    [Fact]
    public void The_tag_delete_sent_with_a_manifest_delete_becomes_TagDeleted()
    {
        var source = RegistryFixtures.Event("tag-delete-side-effect");
        var message = Assert.IsType<TagDeleted>(EventTranslator.Translate(source).Message);
        Assert.Equal(source.Target!.Tag, message.Tag);
    }

    [Fact]
    public void Empty_strings_of_registry_3_count_as_absent()
    {
        // 3.x serialises a tag delete as {"mediaType":"","digest":"","size":0,"tag":"v1"}.
        var source = RegistryFixtures.Event("tag-delete-side-effect");
        var v3 = source with { Target = source.Target! with { Digest = "", MediaType = "", Size = 0 } };
        Assert.IsType<TagDeleted>(EventTranslator.Translate(v3).Message);
    }

    public static TheoryData<string, Func<RegistryEvent, RegistryEvent>> InvalidEvents => new()
    {
        { "action is missing", e => e with { Action = null } },
        { "action is not one of", e => e with { Action = "explode" } },
        { "id is missing", e => e with { Id = "" } },
        { "id is missing", e => e with { Id = new string('x', 129) } },
        { "timestamp is missing", e => e with { Timestamp = null } },
        { "target is missing", e => e with { Target = null } },
        { "target.repository", e => e with { Target = e.Target! with { Repository = "../../etc/passwd" } } },
        { "target.repository", e => e with { Target = e.Target! with { Repository = "fix/app%2f..%2fx" } } },
        { "target.repository", e => e with { Target = e.Target! with { Repository = new string('a', 256) } } },
        { "target.digest", e => e with { Target = e.Target! with { Digest = "sha256:abc" } } },
        { "target.digest", e => e with { Target = e.Target! with { Digest = "md5:d41d8cd98f00b204e9800998ecf8427e" } } },
        { "target.tag", e => e with { Target = e.Target! with { Tag = "v1\nX-Injected: yes" } } },
        { "target.mediaType", e => e with { Target = e.Target! with { MediaType = "text/plain; evil=1 x" } } },
        { "manifest event without target.digest", e => e with { Target = e.Target! with { Digest = null } } },
        { "push without target.mediaType", e => e with { Target = e.Target! with { MediaType = null } } },
        { "target.fromRepository", e => e with { Target = e.Target! with { FromRepository = "UPPER" } } },
    };

    [Theory]
    [MemberData(nameof(InvalidEvents))]
    public void An_invalid_event_is_quarantined_with_its_reason(string reason, Func<RegistryEvent, RegistryEvent> corrupt)
    {
        var translated = EventTranslator.Translate(corrupt(RegistryFixtures.Event("manifest-push-by-tag")));
        Assert.Equal(EventOutcome.Invalid, translated.Outcome);
        Assert.Contains(reason, translated.Reason, StringComparison.Ordinal);
        Assert.Null(translated.Message);
    }

    [Fact]
    public void A_delete_without_digest_or_tag_is_invalid()
    {
        var source = RegistryFixtures.Event("manifest-delete-by-digest");
        var translated = EventTranslator.Translate(source with { Target = source.Target! with { Digest = "" } });
        Assert.Equal(EventOutcome.Invalid, translated.Outcome);
    }
}
