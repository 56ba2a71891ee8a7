using System.CommandLine;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;

namespace RegistryIntegrity.Verifier.Tests.Cli;

/// <summary>
/// <c>sweep --wait</c> against a running Verifier (a real process with its own store, real RabbitMQ and registry):
/// the CLI follows the sweep through the Verifier's API, not a store of its own, and ends with the result.
/// </summary>
public sealed class Sweeping_from_the_command_line : IAsyncLifetime
{
    private const string Token = "cli-api-token-0123456789abcdef";
    private readonly string _dataDir = Directory.CreateTempSubdirectory("verifier-sweep-cli-").FullName;
    private LocalStack _stack = null!;
    private ServiceProcess _verifier = null!;

    public async Task InitializeAsync()
    {
        _stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry);
        _verifier = await ServiceProcess.StartAsync("Verifier", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = _stack.RabbitMqUri.ToString(),
            ["Registry__BaseUrl"] = _stack.RegistryUri.ToString(),
            ["Store__ConnectionString"] = $"Data Source={Path.Combine(_dataDir, "verifier.db")}",
            ["Sweep__Enabled"] = "false",
            ["Api__Tokens__0"] = Token,
        });
    }

    public async Task DisposeAsync()
    {
        await _verifier.DisposeAsync();
        await _stack.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await VerifierCommandLine.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Sweep_wait_follows_the_running_verifier_and_ends_with_the_broken_manifests()
    {
        using (var pusher = new RegistryPusher(_stack.RegistryUri))
        {
            await pusher.PushImageAsync("sweep-cli/healthy", "v1");
            var index = await pusher.PushIndexAsync("sweep-cli/broken", "v1");
            await pusher.DeleteManifestAsync(index.Repository, index.Children[0].Digest);

            var (exitCode, output, error) = await RunAsync(
                "sweep", "--wait", "--timeout", "00:01:00", "--server", _verifier.BaseUri.ToString(), $"--Api:Tokens:0={Token}");

            Assert.True(exitCode == 1, $"{output}\n{error}");
            Assert.Contains("sweep completed: repositories 2/2", output, StringComparison.Ordinal);
            Assert.Contains("BROKEN 1 manifest(s):", output, StringComparison.Ordinal);
            Assert.Contains($"sweep-cli/broken@{index.Digest} (v1)", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_the_token_the_api_refuses_and_the_verb_says_so()
    {
        var (exitCode, output, error) = await RunAsync("sweep", "--server", _verifier.BaseUri.ToString());

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Contains("answered 401", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_verifier_to_talk_to_the_verb_ends_at_once_and_says_so()
    {
        var port = LocalStack.GetFreeTcpPorts(1)[0];

        var (exitCode, _, error) = await RunAsync("sweep", "--wait", "--server", $"http://127.0.0.1:{port}");

        Assert.Equal(2, exitCode);
        Assert.Contains("cannot be reached", error, StringComparison.Ordinal);
    }
}
