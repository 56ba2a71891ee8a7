using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Faults.Tests;

public sealed class QuorumProduct : FaultyProduct
{
    protected override void Configure(Dictionary<string, string> listener, Dictionary<string, string> verifier)
    {
        listener["RabbitMq__QuorumQueues"] = "true";
        verifier["RabbitMq__QuorumQueues"] = "true";
    }
}

public sealed class Using_quorum_queues(QuorumProduct product) : IClassFixture<QuorumProduct>
{
    [Theory]
    [InlineData("registry-integrity-events")]
    [InlineData("registry-integrity-sweeps")]
    public async Task The_queues_are_quorum_queues(string queue)
    {
        Assert.True(await IsDeclaredAsAsync(queue, "quorum"));
        Assert.False(await IsDeclaredAsAsync(queue, "classic"));
    }

    [Fact]
    public async Task Events_and_sweeps_flow_through_them()
    {
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("quorum/app", "v1", layers: 1, layerSize: 256);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await product.VerdictsAsync()).ContainsKey(("quorum/app", image.Digest)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no verdict\n--- listener ---\n{product.Listener.Output}\n--- verifier ---\n{product.Verifier.Output}");
            await Task.Delay(200);
        }

        var (exitCode, output) = await product.RunVerifierVerbAsync("sweep", "--wait");
        Assert.True(exitCode == 0, output);
    }

    /// <summary>A declaration with other arguments than the existing queue's is refused, so it tells the queue's type.</summary>
    private async Task<bool> IsDeclaredAsAsync(string queue, string type)
    {
        var factory = new ConnectionFactory { Uri = product.Stack.RabbitMqUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            // The events queue is also declared bounded: its arguments must be repeated too.
            var arguments = queue == QueueNames.RegistryEvents ? QueueNames.EventsQueueArguments(QueueNames.DefaultEventsQueueMaxLength) : [];
            arguments["x-queue-type"] = type;
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            return false;
        }
    }
}

public sealed class Sending_to_a_quorum_queue_before_any_verifier_ran : IAsyncLifetime
{
    private LocalStack _stack = null!;
    private ServiceProcess _listener = null!;

    public async Task InitializeAsync()
    {
        _stack = await LocalStack.StartAsync(StackServices.RabbitMq);
        _listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = _stack.RabbitMqUri.ToString(),
            ["Listener__BearerTokens__0"] = "quorum-webhook-token-0123456789",
            ["RabbitMq__QuorumQueues"] = "true",
        });
    }

    public async Task DisposeAsync()
    {
        await _listener.DisposeAsync();
        await _stack.DisposeAsync();
    }

    [Fact]
    public async Task The_listener_declares_the_quorum_queue_so_the_acknowledged_event_waits_on_it()
    {
        using var http = new HttpClient { BaseAddress = _listener.BaseUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "quorum-webhook-token-0123456789");
        var body = $$$"""
            {"events":[{"id":"{{{Guid.NewGuid()}}}","timestamp":"2026-11-26T21:33:49.632906844Z","action":"push",
              "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{{{new string('a', 64)}}}","repository":"quorum/app","tag":"v1"},
              "source":{"instanceID":"quorum-instance"}}]}
            """;
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/vnd.docker.distribution.events.v1+json");
        using var response = await http.PostAsync("/v1/events", content);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}\n{_listener.Output}");

        var factory = new ConnectionFactory { Uri = _stack.RabbitMqUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var arguments = QueueNames.EventsQueueArguments(QueueNames.DefaultEventsQueueMaxLength);
        arguments["x-queue-type"] = "quorum";
        var queue = await channel.QueueDeclareAsync(QueueNames.RegistryEvents, durable: true, exclusive: false, autoDelete: false, arguments);
        Assert.Equal(1u, queue.MessageCount);
    }
}
