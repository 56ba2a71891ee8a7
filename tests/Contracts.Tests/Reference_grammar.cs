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

    /// <summary>
    /// Every case of TestFullNameRegexp in distribution/reference's regexp_test.go, and every domain of
    /// its TestDomainRegexp as the first component of "&lt;domain&gt;/app" (the domain test's expectation).
    /// Its one case longer than 255 characters (128 × "a/" + "a") is covered by the length test instead.
    /// </summary>
    public static TheoryData<string, bool> DistributionNameCases()
    {
        var data = new TheoryData<string, bool>();
        data.Add("", false);
        data.Add("short", true);
        data.Add("simple/name", true);
        data.Add("library/ubuntu", true);
        data.Add("docker/stevvooe/app", true);
        data.Add("aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb", true);
        data.Add("aa/aa/bb/bb/bb", true);
        data.Add("a/a/a/a", true);
        data.Add("a/a/a/a/", false);
        data.Add("a//a/a", false);
        data.Add("a", true);
        data.Add("a/aa", true);
        data.Add("a/aa/a", true);
        data.Add("foo.com", true);
        data.Add("foo.com/", false);
        data.Add("foo.com:8080/bar", true);
        data.Add("foo.com:http/bar", false);
        data.Add("foo.com/bar", true);
        data.Add("foo.com/bar/baz", true);
        data.Add("localhost:8080/bar", true);
        data.Add("sub-dom1.foo.com/bar/baz/quux", true);
        data.Add("blog.foo.com/bar/baz", true);
        data.Add("a^a", false);
        data.Add("aa/asdf$$^/aa", false);
        data.Add("asdf$$^/aa", false);
        data.Add("aa-a/a", true);
        data.Add("a-/a/a/a", false);
        data.Add("foo.com/a-/a/a", false);
        data.Add("-foo/bar", false);
        data.Add("foo/bar-", false);
        data.Add("foo-/bar", false);
        data.Add("foo/-bar", false);
        data.Add("_foo/bar", false);
        data.Add("foo_bar", true);
        data.Add("foo_bar.com", true);
        data.Add("foo_bar.com:8080", false);
        data.Add("foo_bar.com:8080/app", false);
        data.Add("foo.com/foo_bar", true);
        data.Add("____/____", false);
        data.Add("_docker/_docker", false);
        data.Add("docker_/docker_", false);
        data.Add("b.gcr.io/test.example.com/my-app", true);
        data.Add("xn--n3h.com/myimage", true);
        data.Add("xn--7o8h.com/myimage", true);
        data.Add("example.com/xn--7o8h.com/myimage", true);
        data.Add("example.com/some_separator__underscore/myimage", true);
        data.Add("example.com/__underscore/myimage", false);
        data.Add("example.com/..dots/myimage", false);
        data.Add("example.com/.dots/myimage", false);
        data.Add("example.com/nodouble..dots/myimage", false);
        data.Add("docker./docker", false);
        data.Add(".docker/docker", false);
        data.Add("docker-/docker", false);
        data.Add("-docker/docker", false);
        data.Add("do..cker/docker", false);
        data.Add("do__cker:8080/docker", false);
        data.Add("do__cker/docker", true);
        data.Add("registry.io/foo/project--id.module--name.ver---sion--name", true);
        data.Add("Asdf.com/foo/bar", true);
        data.Add("Foo/FarB", false);
        data.Add("test.com/app", true);
        data.Add("test.com:10304/app", true);
        data.Add("test.com:http/app", false);
        data.Add("localhost/app", true);
        data.Add("localhost:8080/app", true);
        data.Add("a/app", true);
        data.Add("a.b/app", true);
        data.Add("ab.cd.com/app", true);
        data.Add("a-b.com/app", true);
        data.Add("-ab.com/app", false);
        data.Add("ab-.com/app", false);
        data.Add("ab.c-om/app", true);
        data.Add("ab.-com/app", false);
        data.Add("ab.com-/app", false);
        data.Add("0101.com/app", true);
        data.Add("001a.com/app", true);
        data.Add("b.gbc.io:443/app", true);
        data.Add("b.gbc.io/app", true);
        data.Add("xn--n3h.com/app", true);
        data.Add("Asdf.com/app", true);
        data.Add("192.168.1.1:75050/app", true);
        data.Add("192.168.1.1:750050/app", true);
        data.Add("[fd00:1:2::3]:75050/app", true);
        data.Add("[fd00:1:2::3]75050/app", false);
        data.Add("[fd00:1:2::3]::75050/app", false);
        data.Add("[fd00:1:2::3%eth0]:75050/app", false);
        data.Add("[fd00123123123]:75050/app", true);
        data.Add("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050/app", true);
        data.Add("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505/app", true);
        data.Add("fd00:1:2::3:75050/app", false);
        return data;
    }

    [Theory]
    [MemberData(nameof(DistributionNameCases))]
    public void Matches_distributions_own_name_cases(string name, bool valid) => Assert.Equal(valid, ReferenceGrammar.IsRepository(name));

    [Theory]
    [InlineData("MyOrg/app")]
    [InlineData("host:5000/app")]
    [InlineData("registry.example.com/team/app")]
    public void Accepts_a_first_component_that_looks_like_a_domain(string name) => Assert.True(ReferenceGrammar.IsRepository(name));

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
