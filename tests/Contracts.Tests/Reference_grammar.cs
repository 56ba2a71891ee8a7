using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Contracts.Tests;

public class Reference_grammar
{
    [Theory]
    [InlineData("app")]
    [InlineData("team/app")]
    [InlineData("fix/app-2.x_y__z")]
    [InlineData("a/b/c/d")]
    public void Accepts_repository_names_of_the_distribution_grammar(string name) => Assert.True(ReferenceGrammar.IsRepository(name));

    [Theory]
    [InlineData("")]
    [InlineData("App")]
    [InlineData("../etc")]
    [InlineData("team/../app")]
    [InlineData("team//app")]
    [InlineData("/app")]
    [InlineData("app/")]
    [InlineData("team%2fapp")]
    [InlineData("app@sha256")]
    [InlineData("app#x")]
    [InlineData("app\nx")]
    [InlineData("app-")]
    [InlineData("a..b")]
    public void Rejects_names_outside_the_grammar(string name) => Assert.False(ReferenceGrammar.IsRepository(name));

    [Fact]
    public void Rejects_names_longer_than_255_characters()
    {
        Assert.True(ReferenceGrammar.IsRepository(new string('a', 255)));
        Assert.False(ReferenceGrammar.IsRepository(new string('a', 256)));
    }

    [Theory]
    [InlineData("sha256:6834d069aa2cd8577311868afc7bbca9db8b9ad10a716ff18f78ce54ba939a62", true)]
    [InlineData("sha256:6834D069AA2CD8577311868AFC7BBCA9DB8B9AD10A716FF18F78CE54BA939A62", false)]
    [InlineData("sha256:6834d069", false)]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e", false)]
    [InlineData("sha256:6834d069aa2cd8577311868afc7bbca9db8b9ad10a716ff18f78ce54ba939a62\n", false)]
    [InlineData("", false)]
    public void Accepts_only_known_digest_algorithms_with_their_length(string digest, bool valid) =>
        Assert.Equal(valid, ReferenceGrammar.IsDigest(digest));

    [Fact]
    public void Accepts_sha512_digests() => Assert.True(ReferenceGrammar.IsDigest("sha512:" + new string('a', 128)));

    [Theory]
    [InlineData("latest", true)]
    [InlineData("v1.2.3-rc_1", true)]
    [InlineData("_x", true)]
    [InlineData(".hidden", false)]
    [InlineData("-x", false)]
    [InlineData("a/b", false)]
    [InlineData("a:b", false)]
    public void Tags_follow_the_distribution_grammar(string tag, bool valid) => Assert.Equal(valid, ReferenceGrammar.IsTag(tag));

    [Fact]
    public void Tags_are_at_most_128_characters()
    {
        Assert.True(ReferenceGrammar.IsTag(new string('t', 128)));
        Assert.False(ReferenceGrammar.IsTag(new string('t', 129)));
    }
}

public class Event_message_id
{
    [Fact]
    public void Is_the_event_id_itself_when_the_registry_sent_a_uuid() =>
        Assert.Equal(Guid.Parse("4bf98336-662f-4c85-b6b1-a4f0c7259fed"), EventMessageId.From("4bf98336-662f-4c85-b6b1-a4f0c7259fed"));

    [Fact]
    public void Is_stable_and_distinct_for_other_ids()
    {
        Assert.Equal(EventMessageId.From("event-1"), EventMessageId.From("event-1"));
        Assert.NotEqual(EventMessageId.From("event-1"), EventMessageId.From("event-2"));
    }
}
