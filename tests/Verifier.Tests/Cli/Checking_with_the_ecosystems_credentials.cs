using System.CommandLine;
using System.Text;
using System.Text.Json;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;

namespace RegistryIntegrity.Verifier.Tests.Cli;

/// <summary>
/// <c>check</c> against the real registry 2.8.2 behind htpasswd, with credentials where docker, crane and regctl users keep
/// them: <c>-u</c> with <c>--password-stdin</c>, the docker config's <c>auths</c>, and a credential helper.
/// </summary>
public sealed class Checking_with_the_ecosystems_credentials : IAsyncLifetime
{
    private const string User = "ci-puller";
    private const string Password = "helper-Pa55";
    private readonly string _folder = Directory.CreateTempSubdirectory("rit-login-").FullName;
    private HtpasswdRegistry _registry = null!;
    private LocalStack _stack = null!;
    private PushedImage _image = null!;

    private string Host => _stack.RegistryUri.Authority;

    private string Reference => $"{Host}/{_image.Repository}:v1";

    public async Task InitializeAsync()
    {
        _registry = await HtpasswdRegistry.StartAsync(User, Password, "login-test");
        _stack = _registry.Stack;
        using var pusher = new RegistryPusher(_stack.RegistryUri, User, Password);
        _image = await pusher.PushImageAsync("login/app", "v1");
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunInProcessAsync(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await VerifierCommandLine.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error }, new StringReader(stdin));
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The verb as its own process, with a docker config folder and a PATH of our making.</summary>
    private async Task<CommandResult> RunWithDockerConfigAsync(object config, string? helperScript = null)
    {
        var dockerConfig = Directory.CreateDirectory(Path.Combine(_folder, $"docker-config-{Guid.NewGuid():N}")).FullName;
        await File.WriteAllTextAsync(Path.Combine(dockerConfig, "config.json"), JsonSerializer.Serialize(config));
        var bin = Directory.CreateDirectory(Path.Combine(dockerConfig, "bin")).FullName;
        if (helperScript is not null)
        {
            var helper = Path.Combine(bin, "docker-credential-rit");
            await File.WriteAllTextAsync(helper, helperScript);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return await ServiceProcess.RunCommandAsync("Verifier", ["check", Reference, "--plain-http", "--json"], new Dictionary<string, string>
        {
            ["DOCKER_CONFIG"] = dockerConfig,
            ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}",
        }, TimeSpan.FromMinutes(1));
    }

    private static string Result(string json) => JsonDocument.Parse(json).RootElement.GetProperty("result").GetString()!;

    [Fact]
    public async Task Username_with_the_password_on_stdin_is_used()
    {
        var (exitCode, output, _) = await RunInProcessAsync(Password + "\n", "check", Reference, "--plain-http", "-u", User, "--password-stdin");

        Assert.Equal(0, exitCode);
        Assert.StartsWith("HEALTHY", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--password-stdin")]
    [InlineData("-u", User)]
    public async Task A_username_without_password_stdin_or_the_reverse_is_a_usage_error(params string[] login)
    {
        var (exitCode, output, error) = await RunInProcessAsync(Password, ["check", Reference, "--plain-http", .. login]);

        Assert.Equal(64, exitCode);
        Assert.Empty(output);
        Assert.Contains("--username and --password-stdin go together", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_docker_configs_auth_entry_for_this_registry_is_used()
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));

        var result = await RunWithDockerConfigAsync(new { auths = new Dictionary<string, object> { [$"http://{Host}/v2/"] = new { auth } } });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("healthy", Result(result.StandardOutput));
    }

    [Fact]
    public async Task A_credential_helper_for_this_registry_is_asked_with_the_host_on_stdin()
    {
        var asked = Path.Combine(_folder, "asked");
        var script = $"#!/bin/sh\ncat > {asked}\nprintf '%s' '{{\"ServerURL\":\"x\",\"Username\":\"{User}\",\"Secret\":\"{Password}\"}}'\n";

        var result = await RunWithDockerConfigAsync(new { credHelpers = new Dictionary<string, string> { [Host] = "rit" } }, script);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("healthy", Result(result.StandardOutput));
        Assert.Equal(Host, await File.ReadAllTextAsync(asked));
    }

    [Fact]
    public async Task Credentials_kept_for_another_host_are_not_sent_and_the_check_is_indeterminate()
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));

        var result = await RunWithDockerConfigAsync(new { auths = new Dictionary<string, object> { ["registry.example.com"] = new { auth } } });

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("indeterminate", Result(result.StandardOutput));
        Assert.Contains("401", result.StandardOutput, StringComparison.Ordinal);
    }
}
