using System.Net;
using System.Net.Http.Headers;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Listener.Tests.Fixtures;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>
/// An integrity tool beside a private registry connects to the broker and nothing else: no vendor
/// telemetry. MassTransit reports usage 5 minutes after the bus starts (at least 30 s); the test
/// shortens the delay to those 30 s and waits past it, so that a report would happen within the test.
/// </summary>
public sealed class Contacting_only_the_broker : IAsyncLifetime
{
    private static readonly TimeSpan TelemetryDelay = TimeSpan.FromSeconds(30);
    private LocalStack _stack = null!;

    public async Task InitializeAsync() => _stack = await LocalStack.StartAsync(StackServices.RabbitMq);

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task Start_accept_an_event_and_stop_without_any_connection_but_to_the_broker()
    {
        using var connections = new OutboundConnections();
        // A generous confirm timeout: the point is what is contacted, not how fast, and the whole suite shares the machine.
        var listener = new KestrelListener(_stack.RabbitMqUri, settings: new Dictionary<string, string> { ["Listener:PublishTimeout"] = "00:00:15" },
            services: services => services.Configure<UsageTelemetryOptions>(options => options.ReportDelay = TelemetryDelay));
        try
        {
            listener.StartServer();
            await RabbitMqStack.WaitUntilReadyAsync(listener, TimeSpan.FromSeconds(30));
            using var client = listener.CreateAuthorizedHttpClient();
            var body = new ByteArrayContent(RegistryFixtures.Body("manifest-push-by-tag"));
            body.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.docker.distribution.events.v1+json");
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", body)).StatusCode);
            await Task.Delay(TelemetryDelay + TimeSpan.FromSeconds(5));
        }
        finally
        {
            await listener.DisposeAsync();
        }

        Assert.Contains(connections.Loopback, endPoint => endPoint.Port == _stack.RabbitMqPort);
        Assert.True(connections.Elsewhere.Count == 0, string.Join("; ", connections.Elsewhere));
    }
}
