using System.CommandLine;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
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
        var exitCode = await VerifierCommandLine.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error });
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
    public async Task A_tag_that_does_not_exist_is_not_found_and_exits_3()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("cli"), "v1");

        var (exitCode, output, error) = await RunAsync("check", $"{Host}/{image.Repository}:v2", "--plain-http");

        Assert.Equal(3, exitCode);
        Assert.StartsWith($"NOT FOUND {image.Repository}:v2", output, StringComparison.Ordinal);
        Assert.Contains("the tag does not exist (404", output, StringComparison.Ordinal);
        Assert.DoesNotContain(" )", output, StringComparison.Ordinal);
        Assert.Empty(error);
    }

    [Fact]
    public async Task A_digest_that_does_not_exist_is_not_found_and_exits_3()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("cli"), "v1");
        var unknown = "sha256:" + new string('a', 64);

        var (exitCode, output, _) = await RunAsync("check", $"{Host}/{image.Repository}@{unknown}", "--plain-http", "--json");

        Assert.Equal(3, exitCode);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("not-found", json.RootElement.GetProperty("result").GetString());
        Assert.Equal(3, json.RootElement.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task A_listed_tag_whose_manifest_is_gone_is_broken_and_exits_1()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("cli"), "v1");
        // What GC or a cleanup script leaves: the tag link stays (tags/list lists it), the manifest's data is gone.
        var hex = image.Digest["sha256:".Length..];
        File.Delete(Path.Combine(registry.Stack.StackDir, "registry", "data", "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data"));

        var (exitCode, output, _) = await RunAsync("check", $"{Host}/{image.Repository}:v1", "--plain-http");

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"BROKEN {image.Repository}:v1", output, StringComparison.Ordinal);
        Assert.Contains("the tag is listed but points to a missing manifest (404", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registry_nobody_answers_on_exits_2()
    {
        var port = LocalStack.GetFreeTcpPorts(1)[0];

        var (exitCode, output, error) = await RunAsync("check", $"127.0.0.1:{port}/team/app:v1", "--plain-http");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("INDETERMINATE team/app:v1", output, StringComparison.Ordinal);
        Assert.True(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 3, output);
        Assert.Empty(error);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, 3)]
    public async Task A_failing_registry_is_tried_once_unless_retries_are_asked_for(int retries, int expectedRequests)
    {
        var requests = 0;
        await using var failing = await LoopbackServer.StartAsync(app => app.MapFallback(() =>
        {
            Interlocked.Increment(ref requests);
            return Results.StatusCode(503);
        }));

        var (exitCode, output, error) = await RunAsync(
            "check", $"{failing.BaseUri.Authority}/team/app:v1", "--plain-http", "--json", "--retries", retries.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(2, exitCode);
        Assert.Equal(expectedRequests, requests);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("indeterminate", json.RootElement.GetProperty("result").GetString());
        Assert.Empty(error);
    }

    [Fact]
    public async Task Json_keeps_media_types_readable()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("cli"), "v1");

        var (exitCode, output, _) = await RunAsync("check", $"{Host}/{image.Repository}:v1", "--plain-http", "--json");

        Assert.Equal(0, exitCode);
        Assert.Contains("application/vnd.oci.image.manifest.v1+json", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", output, StringComparison.Ordinal);
    }

    /// <summary>With --json, stdout is exactly one JSON document whatever happens, and its exitCode is the process's.</summary>
    [Theory]
    [InlineData("healthy")]
    [InlineData("broken")]
    [InlineData("not-found")]
    [InlineData("unreachable")]
    [InlineData("bad-reference")]
    [InlineData("missing-argument")]
    [InlineData("bad-setting")]
    public async Task With_json_stdout_is_one_document_for_every_outcome(string outcome)
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("cli"), "v1");
        if (outcome == "broken")
            await _pusher.DeleteManifestAsync(index.Repository, index.Children[0].Digest);
        string[] args = outcome switch
        {
            "not-found" => ["check", $"{Host}/{index.Repository}:nope", "--plain-http", "--json"],
            "unreachable" => ["check", $"127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/team/app:v1", "--plain-http", "--json"],
            "bad-reference" => ["check", "Team/App", "--json"],
            "missing-argument" => ["check", "--json"],
            "bad-setting" => ["check", $"{Host}/{index.Repository}:v1", "--plain-http", "--json", "--Registry:RequestTimeout=abc"],
            _ => ["check", $"{Host}/{index.Repository}:v1", "--plain-http", "--json"],
        };

        var (exitCode, output, _) = await RunAsync(args);

        using var json = JsonDocument.Parse(output);
        Assert.Equal(exitCode, json.RootElement.GetProperty("exitCode").GetInt32());
        var expected = outcome switch
        {
            "unreachable" => "indeterminate",
            "bad-reference" or "missing-argument" or "bad-setting" => "usage-error",
            _ => outcome,
        };
        Assert.Equal(expected, json.RootElement.GetProperty("result").GetString());
    }

    [Theory]
    [InlineData("Team/App")]
    [InlineData("127.0.0.1:5000/Team/App:v1")]
    [InlineData("127.0.0.1:5000/team/app@sha256:short")]
    [InlineData("127.0.0.1:5000/team/app:v1", "--jsno")]
    [InlineData("127.0.0.1:5000/team/app:v1", "--Registry:MaxConcurrency=0")]
    [InlineData("127.0.0.1:5000/team/app:v1", "--retries=-1")]
    public async Task A_bad_argument_exits_64_with_the_reason_on_stderr(string reference, string? extra = null)
    {
        var (exitCode, output, error) = await RunAsync(extra is null ? ["check", reference] : ["check", reference, extra]);

        Assert.Equal(64, exitCode);
        Assert.Empty(output);
        Assert.StartsWith("check: ", error, StringComparison.Ordinal);
    }
}
