using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Verifier.Tests.Service;

/// <summary>The Verifier's log while the broker cannot be reached: one warning with the reason, no retry noise, no stack traces.</summary>
public sealed class Logging_a_broker_outage : IDisposable
{
    private static readonly TimeSpan Watched = TimeSpan.FromSeconds(20);
    private readonly string _dataDir = Directory.CreateTempSubdirectory("verifier-outage-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private async Task<string[]> WatchAsync(Uri broker)
    {
        await using var verifier = await ServiceProcess.StartAsync("Verifier", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = broker.ToString(),
            ["Store__ConnectionString"] = $"Data Source={Path.Combine(_dataDir, "verifier.db")}",
            ["Sweep__Enabled"] = "false",
        }, readyPath: "/healthz/live");
        await Task.Delay(Watched);
        return verifier.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task A_broker_nobody_answers_on_is_one_warning_saying_connection_refused()
    {
        var lines = await WatchAsync(new Uri($"amqp://guest:guest@127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/"));

        var warning = Assert.Single(lines, l => l.Contains("Broker unreachable", StringComparison.Ordinal));
        Assert.Contains("connection refused", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.True(lines.Length <= 15, string.Join('\n', lines));
    }

    [Fact]
    public async Task A_wrong_broker_password_says_access_refused()
    {
        await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq);

        var lines = await WatchAsync(new Uri($"amqp://guest:wrong-password@127.0.0.1:{stack.RabbitMqPort}/"));

        // Our own warning, once, with the cause. (MassTransit still logs this failure as an error with its stack
        // trace at each attempt: filtering it would hide consumer faults logged under the same category.)
        var warnings = lines.Where(l => l.Contains("Broker refused access: ", StringComparison.Ordinal) && !l.Contains("Exception", StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count == 1, string.Join('\n', lines));
        Assert.Contains("Broker refused access: access refused: wrong username or password", warnings[0], StringComparison.Ordinal);
        // (MassTransit's own error line still names its exception "Broker unreachable: user@host".)
        Assert.DoesNotContain(lines, l => l.Contains("unreachable: access refused", StringComparison.Ordinal));
    }
}
