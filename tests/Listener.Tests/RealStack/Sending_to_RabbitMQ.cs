using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Listener.Quarantine;
using RegistryIntegrity.Listener.Tests.Fixtures;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests.RealStack;

public class Sending_to_RabbitMQ(RabbitMqStack stack) : IClassFixture<RabbitMqStack>
{
    private const string V1 = "application/vnd.docker.distribution.events.v1+json";

    private static (byte[] Body, string EventId) UniqueEnvelope(string fixture = "manifest-push-by-tag")
    {
        var eventId = Guid.NewGuid().ToString();
        var body = Encoding.UTF8.GetString(RegistryFixtures.Body(fixture)).Replace(RegistryFixtures.Event(fixture).Id!, eventId, StringComparison.Ordinal);
        return (Encoding.UTF8.GetBytes(body), eventId);
    }

    private static ByteArrayContent Content(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        return content;
    }

    private static string MessageIdOf(string eventId) => EventMessageId.From(eventId).ToString();

    [Fact]
    public async Task An_envelope_is_on_the_queue_before_the_200()
    {
        var (body, eventId) = UniqueEnvelope();
        using var client = stack.Listener.CreateAuthorizedHttpClient();

        var response = await client.PostAsync("/v1/events", Content(body));
        // Read once, at once: a confirmed send is already on the queue.
        var queued = await Broker.DrainAsync(stack.RabbitMqUri, QueueNames.RegistryEvents);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = Assert.Single(queued, m => m.MessageId == MessageIdOf(eventId));
        Assert.Equal("urn:message:RegistryIntegrity.Contracts:ManifestPushed", message.MessageType);
        var source = RegistryFixtures.Event("manifest-push-by-tag");
        Assert.Equal(eventId, message.Message.GetProperty("eventId").GetString());
        Assert.Equal(source.Target!.Digest, message.Message.GetProperty("digest").GetString());
        Assert.Equal(source.Target.Tag, message.Message.GetProperty("tag").GetString());
        Assert.Equal(source.Source!.InstanceId, message.Message.GetProperty("sourceInstanceId").GetString());
    }

    [Fact]
    public async Task The_same_event_id_posted_twice_yields_messages_with_the_same_message_id_for_the_consumer_to_drop()
    {
        var (body, eventId) = UniqueEnvelope("manifest-delete-by-digest");
        using var client = stack.Listener.CreateAuthorizedHttpClient();

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", Content(body))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", Content(body))).StatusCode);
        var copies = (await Broker.DrainAsync(stack.RabbitMqUri, QueueNames.RegistryEvents))
            .Where(m => m.Message.GetProperty("eventId").GetString() == eventId).ToList();

        Assert.Equal(2, copies.Count);
        Assert.All(copies, m => Assert.Equal(MessageIdOf(eventId), m.MessageId));
    }

    [Fact]
    public async Task With_RabbitMQ_stopped_the_answer_is_503_and_once_it_is_back_the_retry_is_accepted_and_nothing_is_lost()
    {
        var (body, eventId) = UniqueEnvelope();
        var malformed = Encoding.UTF8.GetBytes($"{{\"events\": [{{\"id\": \"{eventId}\", \"action\": 42}}]}}");
        using var client = stack.Listener.CreateAuthorizedHttpClient();
        await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);

        await stack.Stack.StopAsync(StackServices.RabbitMq);
        try
        {
            await RabbitMqStack.WaitForReadinessAsync(stack.Listener, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
            // What RegistryListenerPublishFailing sees while no notification reaches a not-ready Listener.
            Assert.Equal(0, stack.Listener.Metrics.BrokerReachable.Value);

            var clock = Stopwatch.StartNew();
            var refused = await client.PostAsync("/v1/events", Content(body));
            var answeredIn = clock.Elapsed;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.True(answeredIn < RabbitMqStack.PublishTimeout + TimeSpan.FromSeconds(0.5), $"Answered 503 after {answeredIn.TotalMilliseconds} ms.");

            var refusedQuarantine = await client.PostAsync("/v1/events", Content(malformed));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refusedQuarantine.StatusCode);
        }
        finally
        {
            await stack.Stack.StartAsync(StackServices.RabbitMq);
        }

        // Like the registry: the same POST again, a second apart, until it is accepted.
        var accepted = await RetryUntilOkAsync(client, body, TimeSpan.FromSeconds(60));
        var acceptedQuarantine = await RetryUntilOkAsync(client, malformed, TimeSpan.FromSeconds(30));
        await RabbitMqStack.WaitUntilReadyAsync(stack.Listener, TimeSpan.FromSeconds(30));

        Assert.True(accepted, "The retried event was never accepted after RabbitMQ came back.");
        Assert.True(acceptedQuarantine, "The retried malformed envelope was never accepted after RabbitMQ came back.");
        var queued = await Broker.DrainAsync(stack.RabbitMqUri, QueueNames.RegistryEvents);
        Assert.Single(queued, m => m.MessageId == MessageIdOf(eventId));
        var quarantined = await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);
        Assert.Single(quarantined, m => m.Body.AsSpan().SequenceEqual(malformed));
    }

    [Fact]
    public async Task A_malformed_envelope_is_kept_whole_with_its_reason_on_the_bounded_quarantine_queue()
    {
        using var client = stack.Listener.CreateAuthorizedHttpClient();
        await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);
        var before = DateTimeOffset.UtcNow;

        var body = Encoding.UTF8.GetBytes("{\"events\": [{\"action\": \"push\", \"target\": {\"repository\": \"../../etc\"}}]}");
        var response = await client.PostAsync("/v1/events", Content(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kept = Assert.Single(await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName));
        Assert.Equal(body, kept.Body);
        Assert.Equal(V1, kept.ContentType);
        Assert.Contains("push event: id is missing", kept.HeaderText("quarantine-reason"), StringComparison.Ordinal);
        var receivedAt = DateTimeOffset.Parse(kept.HeaderText("received-at"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(receivedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal((long)body.Length, kept.Headers["body-length"]);
        Assert.Equal(false, kept.Headers["body-truncated"]);
    }

    [Fact]
    public async Task The_quarantine_keeps_only_the_newest_envelopes_and_cuts_long_bodies()
    {
        using var client = stack.Listener.CreateAuthorizedHttpClient();
        await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);

        var bodies = Enumerable.Range(0, RabbitMqStack.QuarantineMaxMessages + 3)
            .Select(i => Encoding.UTF8.GetBytes($"not json #{i} " + new string('x', i == 7 ? 3000 : 10)))
            .ToList();
        foreach (var body in bodies)
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", Content(body))).StatusCode);

        Assert.Equal((uint)RabbitMqStack.QuarantineMaxMessages, await Broker.CountAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName));
        var kept = await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);
        Assert.Equal(bodies[3].Take(RabbitMqStack.QuarantineMaxBodyBytes), kept[0].Body);
        var cut = kept[^1];
        Assert.Equal(bodies[7].Take(RabbitMqStack.QuarantineMaxBodyBytes), cut.Body);
        Assert.Equal((long)bodies[7].Length, cut.Headers["body-length"]);
        Assert.Equal(true, cut.Headers["body-truncated"]);
    }

    [Theory]
    [InlineData("announced")]
    [InlineData("chunked")]
    public async Task An_oversized_notification_from_the_registry_is_quarantined_cut_and_answered_200(string length)
    {
        using var client = stack.Listener.CreateAuthorizedHttpClient();
        await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);
        var quarantined = stack.Listener.Metrics.Events.WithLabels("unknown", "quarantined").Value;
        var body = Encoding.UTF8.GetBytes("{\"events\": [\"" + new string('x', 2 * 1024 * 1024) + "\"]}");
        var content = new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        if (length == "announced")
            content.Headers.ContentLength = body.Length;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = content };
        request.Headers.TransferEncodingChunked = length == "chunked";

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kept = Assert.Single(await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName));
        Assert.Equal(body.Take(RabbitMqStack.QuarantineMaxBodyBytes), kept.Body);
        Assert.Equal(true, kept.Headers["body-truncated"]);
        Assert.Equal(length == "announced" ? body.Length : -1L, kept.Headers["body-length"]);
        Assert.Contains("exceeds 1048576 bytes", kept.HeaderText("quarantine-reason"), StringComparison.Ordinal);
        Assert.Equal(quarantined + 1, stack.Listener.Metrics.Events.WithLabels("unknown", "quarantined").Value);
    }

    [Fact]
    public async Task A_notification_with_another_content_type_from_the_registry_is_quarantined_and_answered_200()
    {
        using var client = stack.Listener.CreateAuthorizedHttpClient();
        await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);
        var (body, _) = UniqueEnvelope();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain");

        var response = await client.PostAsync("/v1/events", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kept = Assert.Single(await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName));
        Assert.Equal(body, kept.Body);
        Assert.Equal("text/plain", kept.ContentType);
        Assert.Contains("Content-Type text/plain is not one of", kept.HeaderText("quarantine-reason"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_Authorization_header_lines_as_distribution_sends_a_list_are_accepted_when_one_is_valid()
    {
        var (body, eventId) = UniqueEnvelope();
        var head = "POST /v1/events HTTP/1.1\r\nHost: listener\r\n" +
            "Authorization: Bearer an-old-token-that-was-rotated-out\r\n" +
            $"Authorization: Bearer {KestrelListener.Token}\r\n" +
            $"Content-Type: {V1}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        string? statusLine = null;
        // As the registry does: a 503 (the broker slow on a busy machine) is retried; a 401 would be final.
        for (var attempt = 0; attempt < 5 && statusLine?.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) != true; attempt++)
        {
            using var socket = new System.Net.Sockets.TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, stack.Listener.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head).Concat(body).ToArray());
            using var reader = new StreamReader(stream);
            statusLine = await reader.ReadLineAsync();
            Assert.DoesNotContain("401", statusLine, StringComparison.Ordinal);
        }

        Assert.StartsWith("HTTP/1.1 200", statusLine, StringComparison.Ordinal);
        var queued = await Broker.DrainAsync(stack.RabbitMqUri, QueueNames.RegistryEvents);
        Assert.Contains(queued, m => m.MessageId == MessageIdOf(eventId));
    }

    [Fact]
    public async Task A_content_type_longer_than_an_AMQP_property_still_gets_the_envelope_quarantined()
    {
        using var client = stack.Listener.CreateAuthorizedHttpClient();
        await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName);
        var contentType = $"{V1}; padding={new string('p', 400)}";
        var malformed = Encoding.UTF8.GetBytes("{\"events\": \"not a list\"}");
        var content = new ByteArrayContent(malformed);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await client.PostAsync("/v1/events", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kept = Assert.Single(await Broker.DrainAsync(stack.RabbitMqUri, RabbitMqQuarantine.QueueName));
        Assert.Equal(malformed, kept.Body);
        Assert.Null(kept.ContentType);
        Assert.Equal(contentType, kept.HeaderText("content-type"));
    }

    [Fact]
    public async Task A_listener_process_shows_MassTransit_meters_beside_its_own_on_the_metrics_page()
    {
        // A process of its own: prometheus-net's meter adapter is reliable for one Listener per process.
        await using var process = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
            ["Listener__BearerTokens__0"] = KestrelListener.Token,
        });
        using var client = new HttpClient { BaseAddress = process.BaseUri };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KestrelListener.Token);
        // The first send declares the queue: on a loaded machine it can outlast the publish timeout (503), and the
        // registry would send again, so the test does too. Counts are then at least one.
        var body = UniqueEnvelope().Body;
        var status = HttpStatusCode.ServiceUnavailable;
        for (var attempt = 0; attempt < 3 && status != HttpStatusCode.OK; attempt++)
            status = (await client.PostAsync("/v1/events", Content(body))).StatusCode;
        Assert.Equal(HttpStatusCode.OK, status);

        var metrics = await client.GetStringAsync("/metrics");

        Assert.Matches("(?m)^masstransit_messaging_masstransit_send\\{.*messaging_masstransit_message_type=\"[^\"]*ManifestPushed\".*\\} [1-9][0-9]*$", metrics);
        Assert.Matches("(?m)^registry_integrity_listener_events_total\\{action=\"push\",outcome=\"published\"\\} [1-9][0-9]*$", metrics);
        Assert.Matches("(?m)^process_cpu_seconds_total ", metrics);
    }

    [Fact]
    public async Task On_shutdown_a_request_in_flight_is_finished_and_its_event_confirmed()
    {
        var listener = stack.StartListener();
        await RabbitMqStack.WaitUntilReadyAsync(listener, TimeSpan.FromSeconds(30));
        using var client = listener.CreateAuthorizedHttpClient();
        await RabbitMqStack.PayFirstSendAsync(listener, TimeSpan.FromSeconds(30));
        var (body, eventId) = UniqueEnvelope();
        var rest = new TaskCompletionSource();
        var posting = client.PostAsync("/v1/events", new SlowContent(body, rest.Task));
        await Task.Delay(500);

        var stopping = listener.DisposeAsync().AsTask();
        await Task.Delay(500);
        Assert.False(stopping.IsCompleted, "The Listener stopped while a request was still in flight.");
        rest.SetResult();
        var response = await posting;
        await stopping;

        Assert.True(response.StatusCode == HttpStatusCode.OK,
            $"Answered {(int)response.StatusCode} while stopping. The Listener's log:\n"
            + string.Join("\n", listener.Logs.Lines.Select(l => $"{l.Level} {l.Category}: {l.Message} {l.Exception?.GetType().Name} {l.Exception?.Message}")));
        var queued = await Broker.DrainAsync(stack.RabbitMqUri, QueueNames.RegistryEvents);
        Assert.Single(queued, m => m.MessageId == MessageIdOf(eventId));
    }

    private static async Task<bool> RetryUntilOkAsync(HttpClient client, byte[] body, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            var response = await client.PostAsync("/v1/events", Content(body));
            if (response.StatusCode == HttpStatusCode.OK)
                return true;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            await Task.Delay(1000);
        }
        return false;
    }

    /// <summary>Sends the first half of the body, then waits for <paramref name="rest"/> before the second half.</summary>
    private sealed class SlowContent : HttpContent
    {
        private readonly byte[] _body;
        private readonly Task _rest;

        public SlowContent(byte[] body, Task rest)
        {
            _body = body;
            _rest = rest;
            Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var half = _body.Length / 2;
            await stream.WriteAsync(_body.AsMemory(0, half));
            await stream.FlushAsync();
            await _rest;
            await stream.WriteAsync(_body.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return true;
        }
    }
}
