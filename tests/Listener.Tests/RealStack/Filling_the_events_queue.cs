using System.Net;
using System.Net.Http.Headers;
using System.Text;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Listener.Tests.Fixtures;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>A real RabbitMQ and a Listener whose events queue holds three messages at most.</summary>
public sealed class SmallEventsQueue : IAsyncLifetime
{
    public const int MaxLength = 3;

    public LocalStack Stack { get; private set; } = null!;

    public KestrelListener Listener { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stack = await LocalStack.StartAsync(StackServices.RabbitMq);
        Listener = new KestrelListener(Stack.RabbitMqUri, settings: new Dictionary<string, string>
        {
            [QueueNames.EventsQueueMaxLengthKey] = MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The broker refuses (nacks) at once when the queue is full; the generous timeout only keeps a first send on a
            // loaded machine (1-3 s here) from being answered 503 and then confirmed into the queue anyway.
            ["Listener:PublishTimeout"] = "00:00:15",
        });
        Listener.StartServer();
        await RabbitMqStack.WaitUntilReadyAsync(Listener, TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        if (Listener is not null)
            await Listener.DisposeAsync();
        if (Stack is not null)
            await Stack.DisposeAsync();
    }
}

public class Filling_the_events_queue(SmallEventsQueue fixture) : IClassFixture<SmallEventsQueue>
{
    [Fact]
    public async Task A_full_queue_is_answered_503_and_keeps_every_event_it_confirmed()
    {
        using var client = fixture.Listener.CreateAuthorizedHttpClient();
        var confirmed = new List<string>();
        for (var i = 0; i < SmallEventsQueue.MaxLength; i++)
        {
            var (content, eventId) = Envelope();
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", content)).StatusCode);
            confirmed.Add(EventMessageId.From(eventId).ToString());
        }

        var (overflow, overflowId) = Envelope();
        var refused = await client.PostAsync("/v1/events", overflow);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        // Counted just after the answer, once the queue's length has been read.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (fixture.Listener.Metrics.EventsQueueFull.Value < 1 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(1, fixture.Listener.Metrics.EventsQueueFull.Value);
        Assert.Contains(fixture.Listener.Logs.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error && l.Message.Contains("is full", StringComparison.Ordinal));
        var queued = await Broker.DrainAsync(fixture.Stack.RabbitMqUri, QueueNames.RegistryEvents);
        Assert.Equal(confirmed, queued.Select(m => m.MessageId));

        // Room again: the registry's retry of the refused event goes through.
        var (retry, _) = Envelope(overflowId);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", retry)).StatusCode);
        Assert.Equal([EventMessageId.From(overflowId).ToString()], (await Broker.DrainAsync(fixture.Stack.RabbitMqUri, QueueNames.RegistryEvents)).Select(m => m.MessageId));
    }

    private static (HttpContent Content, string EventId) Envelope(string? eventId = null)
    {
        const string name = "manifest-push-by-tag";
        eventId ??= Guid.NewGuid().ToString();
        var body = Encoding.UTF8.GetString(RegistryFixtures.Body(name)).Replace(RegistryFixtures.Event(name).Id!, eventId, StringComparison.Ordinal);
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.docker.distribution.events.v1+json");
        return (content, eventId);
    }
}
