using System.CommandLine;
using System.Text.Json;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Cli;

/// <summary>The <c>check</c> verb, run in-process through the Verifier's command line against the real registry.</summary>
[Collection(RealRegistryCollection.Name)]
public sealed class Checking_an_image_from_the_command_line(RealRegistry registry) : IDisposable
{
    private readonly RegistryPusher _pusher = new(registry.Uri);

    public void Dispose() => _pusher.Dispose();

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await VerifierCommandLine.Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    private string Host => registry.Uri.Authority;

    [Fact]
    public async Task A_healthy_tagged_index_exits_0()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("cli"), "v1");

        var (exitCode, output, _) = await RunAsync("check", $"{Host}/{index.Repository}:v1", "--plain-http");

        Assert.Equal(0, exitCode);
        Assert.StartsWith($"HEALTHY {index.Repository}@{index.Digest} ({RegistryIntegrity.Verifier.Registry.ManifestMediaTypes.OciIndex}, 5 manifest(s))", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_index_exits_1_and_the_json_names_the_missing_child()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("cli"), "v1");
        await _pusher.DeleteManifestAsync(index.Repository, index.Children[0].Digest);

        var (exitCode, output, _) = await RunAsync("check", $"{Host}/{index.Repository}@{index.Digest}", "--plain-http", "--json", "--Registry:BlobCheck=Head");

        Assert.Equal(1, exitCode);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("broken", json.RootElement.GetProperty("result").GetString());
        var missing = json.RootElement.GetProperty("missing").EnumerateArray().Single();
        Assert.Equal(index.Children[0].Digest, missing.GetProperty("digest").GetString());
        Assert.Equal("child-manifest", missing.GetProperty("kind").GetString());
        Assert.Equal(404, missing.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task A_tag_that_does_not_exist_exits_1()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("cli"), "v1");

        var (exitCode, output, _) = await RunAsync("check", $"{Host}/{image.Repository}:v2", "--plain-http");

        Assert.Equal(1, exitCode);
        Assert.Contains("the tag does not exist", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registry_nobody_answers_on_exits_2()
    {
        var port = LocalStack.GetFreeTcpPorts(1)[0];

        var (exitCode, output, _) = await RunAsync("check", $"127.0.0.1:{port}/team/app:v1", "--plain-http");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("INDETERMINATE team/app:v1", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-registry-part")]
    [InlineData("127.0.0.1:5000/Team/App:v1")]
    [InlineData("127.0.0.1:5000/team/app@sha256:short")]
    [InlineData("127.0.0.1:5000/team/app:v1", "--jsno")]
    [InlineData("127.0.0.1:5000/team/app:v1", "--Registry:MaxConcurrency=0")]
    public async Task A_bad_argument_exits_64_with_the_reason_on_stderr(string reference, string? extra = null)
    {
        var (exitCode, output, error) = await RunAsync(extra is null ? ["check", reference] : ["check", reference, extra]);

        Assert.Equal(64, exitCode);
        Assert.Empty(output);
        Assert.StartsWith("check: ", error, StringComparison.Ordinal);
    }
}
