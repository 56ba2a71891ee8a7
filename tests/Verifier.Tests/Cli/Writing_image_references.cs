using RegistryIntegrity.Verifier.Cli;

namespace RegistryIntegrity.Verifier.Tests.Cli;

/// <summary>References as docker, crane and skopeo users write them.</summary>
public sealed class Writing_image_references
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("alpine", ImageReference.DockerHub, "library/alpine", "latest", null)]
    [InlineData("alpine:3", ImageReference.DockerHub, "library/alpine", "3", null)]
    [InlineData("library/alpine:3", ImageReference.DockerHub, "library/alpine", "3", null)]
    [InlineData("team/app", ImageReference.DockerHub, "team/app", "latest", null)]
    [InlineData("docker.io/team/app:v1", ImageReference.DockerHub, "team/app", "v1", null)]
    [InlineData("localhost/team/app:v1", "localhost", "team/app", "v1", null)]
    [InlineData("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000", "team/app", "v1", null)]
    [InlineData("registry.example.com/team/app:v1@" + Digest, "registry.example.com", "team/app", Digest, null)]
    [InlineData("registry.example.com/team/app@" + Digest, "registry.example.com", "team/app", Digest, null)]
    [InlineData("http://127.0.0.1:5000/team/app:v1", "127.0.0.1:5000", "team/app", "v1", true)]
    [InlineData("https://registry.example.com/team/app", "registry.example.com", "team/app", "latest", false)]
    public void Are_understood_as_docker_understands_them(string value, string registry, string repository, string reference, bool? plainHttp)
    {
        Assert.True(ImageReference.TryParse(value, out var image, out var error), error);

        Assert.Equal(new ImageReference(registry, repository, reference, plainHttp), image);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Team/App")]
    [InlineData("127.0.0.1:5000/team/app@sha256:short")]
    [InlineData("127.0.0.1:5000/team/app:bad tag")]
    [InlineData("127.0.0.1:5000/team/app:-v1@" + Digest)]
    public void Malformed_ones_are_refused_with_a_reason(string value)
    {
        Assert.False(ImageReference.TryParse(value, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("127.0.0.1:5000/team/app", false, true)]
    [InlineData("127.8.9.10:5000/team/app", false, true)]
    [InlineData("localhost:5000/team/app", false, true)]
    [InlineData("localhost/team/app", false, true)]
    [InlineData("[::1]:5000/team/app", false, true)]
    [InlineData("https://127.0.0.1:5000/team/app", false, false)]
    [InlineData("https://127.0.0.1:5000/team/app", true, false)]
    [InlineData("registry.example.com/team/app", false, false)]
    [InlineData("128.0.0.1:5000/team/app", false, false)]
    [InlineData("localhost.example.com/team/app", false, false)]
    [InlineData("registry.example.com/team/app", true, true)]
    [InlineData("http://registry.example.com/team/app", false, true)]
    public void Loopback_registries_are_spoken_to_over_plain_HTTP_unless_a_scheme_says_otherwise(string value, bool plainHttpOption, bool plainHttp)
    {
        Assert.True(ImageReference.TryParse(value, out var image, out var error), error);

        Assert.Equal(plainHttp, image!.UsesPlainHttp(plainHttpOption));
    }
}
