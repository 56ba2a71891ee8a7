using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests;

/// <summary>One real RabbitMQ the outage tests stop and start again.</summary>
public sealed class OutageBroker : IAsyncLifetime
{
    public LocalStack Stack { get; private set; } = null!;

    public async Task InitializeAsync() => Stack = await LocalStack.StartAsync(StackServices.RabbitMq);

    public async Task DisposeAsync()
    {
        if (Stack is not null)
            await Stack.DisposeAsync();
    }
}

/// <summary>
/// The Listener's log while the broker is gone: one warning per state change (down, still down every few minutes, back)
/// with the reason, retries at debug level without stack traces, and a wrong password said as such.
/// </summary>
public sealed class Logging_a_broker_outage(OutageBroker broker) : IClassFixture<OutageBroker>
{
    private static readonly TimeSpan Watched = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static Task<ServiceProcess> StartListenerAsync(Uri rabbitMq, string readyPath) =>
        ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = rabbitMq.ToString(),
            ["Listener__BearerTokens__0"] = "outage-test-webhook-token",
        }, readyPath: readyPath, readyWithin: TimeSpan.FromSeconds(60));

    private static async Task<string[]> WaitForLineAsync(ServiceProcess listener, string text)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!listener.Output.Contains(text, StringComparison.Ordinal) && DateTime.UtcNow < deadline && !listener.HasExited)
            await Task.Delay(250);
        var lines = listener.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(listener.Output.Contains(text, StringComparison.Ordinal), $"no '{text}' within {Deadline}:\n{listener.Output}");
        return lines;
    }

    /// <summary>What the registry does: one push event per POST, sent again and again while it is refused.</summary>
    private static async Task<int> PostEventAsync(HttpClient http)
    {
        var envelope = $$$"""
            {"events":[{"id":"{{{Guid.NewGuid()}}}","timestamp":"{{{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffffffZ}}}","action":"push",
            "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{{{new string('a', 64)}}}","size":10,"repository":"outage/app","tag":"v1"},
            "request":{"id":"r1"},"source":{"instanceID":"0f3a8b1c-1111-4222-8333-944455556666"}}]}
            """;
        using var content = new StringContent(envelope, System.Text.Encoding.UTF8, "application/vnd.docker.distribution.events.v1+json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = content };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "outage-test-webhook-token");
        using var response = await http.SendAsync(request);
        return (int)response.StatusCode;
    }

    private static string[] Lines(ServiceProcess listener) => listener.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task A_stopped_broker_is_one_warning_while_every_event_is_refused_and_one_line_when_it_is_back()
    {
        await using var listener = await StartListenerAsync(broker.Stack.RabbitMqUri, "/healthz/ready");
        using var http = new HttpClient { BaseAddress = listener.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(200, await PostEventAsync(http));
        var before = Lines(listener).Length;
        await broker.Stack.StopAsync(StackServices.RabbitMq);
        string[] down;
        var refused = 0;
        try
        {
            // The kubelet's probe notices first, with the reason; then the registry's notifications are refused.
            using (var probe = await http.GetAsync("/healthz/ready"))
                Assert.Equal(503, (int)probe.StatusCode);
            var until = DateTime.UtcNow + Watched;
            while (DateTime.UtcNow < until)
                refused += await PostEventAsync(http) == 503 ? 1 : 0;
            down = Lines(listener)[before..];
        }
        finally
        {
            await broker.Stack.StartAsync(StackServices.RabbitMq);
        }

        Assert.True(refused >= 2, $"{refused} events refused");
        var warning = Assert.Single(down, l => l.Contains("Broker unreachable", StringComparison.Ordinal));
        Assert.Contains("Broker unreachable: connection refused", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(down, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        // The simple console format writes an entry as two lines: the warning and nothing else, however many retries.
        Assert.True(down.Length <= 2, $"{down.Length} lines for {refused} refused events:\n{string.Join('\n', down)}");

        var deadline = DateTime.UtcNow + Deadline;
        while (await PostEventAsync(http) != 200 && DateTime.UtcNow < deadline)
            await Task.Delay(500);
        var back = await WaitForLineAsync(listener, "Broker connection is back");
        Assert.Single(back, l => l.Contains("Broker connection is back", StringComparison.Ordinal));
        Assert.Single(back, l => l.Contains("Broker unreachable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_broker_password_says_access_refused()
    {
        var wrong = new UriBuilder(broker.Stack.RabbitMqUri) { Password = "wrong-password" }.Uri;
        await using var listener = await StartListenerAsync(wrong, "/healthz/live");

        var lines = await WaitForLineAsync(listener, "Broker refused access: ");

        // Our own warning, once, with the cause (MassTransit's own error for each attempt is still logged under its category).
        var warning = Assert.Single(lines, l => l.Contains("Broker refused access: ", StringComparison.Ordinal) && !l.Contains("Exception", StringComparison.Ordinal));
        Assert.Contains("Broker refused access: access refused: wrong username or password", warning, StringComparison.Ordinal);
        // (MassTransit's own error line still names its exception "Broker unreachable: user@host".)
        Assert.DoesNotContain(lines, l => l.Contains("unreachable: access refused", StringComparison.Ordinal));
    }
}
