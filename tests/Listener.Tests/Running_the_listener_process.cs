using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests;

/// <summary>The Listener as an operator starts it: its own binary, from a directory that is not its own.</summary>
public sealed class Running_the_listener_process : IDisposable
{
    private readonly string _elsewhere = Directory.CreateTempSubdirectory("listener-cwd-").FullName;

    public void Dispose() => Directory.Delete(_elsewhere, recursive: true);

    [Fact]
    public async Task Reads_the_settings_beside_its_binary_wherever_it_is_started()
    {
        // Only a token is given: the broker URI and everything else come from appsettings.json beside the binary.
        await using var listener = await ServiceProcess.StartAsync("Listener",
            new Dictionary<string, string> { ["Listener__BearerTokens__0"] = "a-long-enough-token" },
            workingDirectory: _elsewhere, readyPath: "/healthz/live", readyWithin: TimeSpan.FromSeconds(30));

        Assert.False(listener.HasExited, listener.Output);
    }

    [Theory]
    [InlineData("--Listener:PublishTimeout=abc", "Listener:PublishTimeout")]
    [InlineData("--ConnectionStrings:RabbitMq=not-a-uri", "ConnectionStrings:RabbitMq")]
    [InlineData("--Listener:BearerTokens:0=short", "Listener:BearerTokens")]
    [InlineData("--RabbitMq:EventsQueueMaxLength=lots", "RabbitMq:EventsQueueMaxLength")]
    [InlineData("--Management:Port=metrics", "Management:Port")]
    [InlineData("--Management:Port=5080", "Management:Port")]
    public async Task A_bad_setting_stops_it_at_once_with_one_line_naming_the_key_and_exit_64(string argument, string key)
    {
        var result = await ServiceProcess.RunCommandAsync("Listener", [argument],
            new Dictionary<string, string> { ["Listener__BearerTokens__0"] = "a-long-enough-token" }, TimeSpan.FromSeconds(30), _elsewhere);

        Assert.True(result.ExitCode == 64, result.ToString());
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(key, line, StringComparison.Ordinal);
        Assert.Equal("", result.StandardOutput.Trim());
    }
}
