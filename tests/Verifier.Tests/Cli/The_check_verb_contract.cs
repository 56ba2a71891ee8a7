using System.Text.Json;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Cli;

/// <summary>
/// The <c>check</c> verb as CI runs it: its own process, started from a directory that is not its own,
/// every outcome in text and in JSON. Asserts the exit code, that stdout is only the result (one JSON
/// document with --json), that nothing but the result is printed, and how long it took.
/// </summary>
[Collection(RealRegistryCollection.Name)]
public sealed class The_check_verb_contract(RealRegistry registry) : IDisposable
{
    private readonly RegistryPusher _pusher = new(registry.Uri);
    private readonly string _elsewhere = Directory.CreateTempSubdirectory("check-cwd-").FullName;

    public void Dispose()
    {
        _pusher.Dispose();
        Directory.Delete(_elsewhere, recursive: true);
    }

    private async Task<string[]> ArgumentsAsync(string outcome)
    {
        var host = registry.Uri.Authority;
        switch (outcome)
        {
            case "healthy":
                var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("contract"), "v1");
                return ["check", $"{host}/{image.Repository}:v1", "--plain-http"];
            case "broken":
                var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("contract"), "v1");
                await _pusher.DeleteManifestAsync(index.Repository, index.Children[0].Digest);
                return ["check", $"{host}/{index.Repository}:v1", "--plain-http"];
            case "dangling-tag":
                var dangling = await _pusher.PushImageAsync(RealRegistry.NewRepository("contract"), "v1");
                var hex = dangling.Digest["sha256:".Length..];
                File.Delete(Path.Combine(registry.Stack.StackDir, "registry", "data", "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data"));
                return ["check", $"{host}/{dangling.Repository}:v1", "--plain-http"];
            case "not-found":
                return ["check", $"{host}/{RealRegistry.NewRepository("contract")}:v1", "--plain-http"];
            case "unreachable":
                return ["check", $"127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/team/app:v1", "--plain-http"];
            default:
                return ["check", "not a reference"];
        }
    }

    [Theory]
    [InlineData("healthy", 0, "healthy")]
    [InlineData("broken", 1, "broken")]
    [InlineData("dangling-tag", 1, "broken")]
    [InlineData("not-found", 3, "not-found")]
    [InlineData("unreachable", 2, "indeterminate")]
    [InlineData("usage-error", 64, "usage-error")]
    public async Task Every_outcome_has_its_exit_code_and_one_result_on_stdout(string outcome, int exitCode, string result)
    {
        var arguments = await ArgumentsAsync(outcome);

        var text = await ServiceProcess.RunCommandAsync("Verifier", arguments, new Dictionary<string, string>(), TimeSpan.FromSeconds(60), _elsewhere);
        var json = await ServiceProcess.RunCommandAsync("Verifier", [.. arguments, "--json"], new Dictionary<string, string>(), TimeSpan.FromSeconds(60), _elsewhere);

        Assert.True(text.ExitCode == exitCode, text.ToString());
        Assert.True(json.ExitCode == exitCode, json.ToString());
        using var document = JsonDocument.Parse(json.StandardOutput);
        Assert.Equal(result, document.RootElement.GetProperty("result").GetString());
        Assert.Equal(exitCode, document.RootElement.GetProperty("exitCode").GetInt32());
        if (exitCode == 64)
        {
            Assert.Equal("", text.StandardOutput);
            Assert.StartsWith("check: ", text.StandardError, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith(result.Replace('-', ' ').ToUpperInvariant() + " ", text.StandardOutput, StringComparison.Ordinal);
            Assert.Equal("", text.StandardError);
            Assert.Equal("", json.StandardError);
        }
        // One attempt against the registry, whatever the outcome: far below the default retries' backoff (~14 s).
        Assert.True(text.Elapsed < TimeSpan.FromSeconds(20), text.ToString());
        Assert.False(File.Exists(Path.Combine(_elsewhere, "verifier.db")), "check created a store in the working directory");
    }
}
