using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Listener.Notifications;
using RegistryIntegrity.Listener.Tests.Fixtures;

namespace RegistryIntegrity.Listener.Tests;

public class Posting_notifications(ListenerApp app) : IClassFixture<ListenerApp>
{
    private const string V1 = "application/vnd.docker.distribution.events.v1+json";

    private static ByteArrayContent Envelope(string fixture, string contentType = V1) => Body(RegistryFixtures.Body(fixture), contentType);

    private static ByteArrayContent Body(byte[] body, string? contentType = V1)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private static readonly string[] Actions = ["push", "pull", "mount", "delete", "unknown"];

    /// <summary>Counted before the answer, unlike the harness's record of sent messages, which may lag behind it.</summary>
    private double PublishedCount => Actions.Sum(a => Count(a, "published"));

    private static (ByteArrayContent Content, string EventId) UniqueEnvelope(string fixture)
    {
        var eventId = Guid.NewGuid().ToString();
        var body = Encoding.UTF8.GetString(RegistryFixtures.Body(fixture)).Replace(RegistryFixtures.Event(fixture).Id!, eventId, StringComparison.Ordinal);
        return (Body(Encoding.UTF8.GetBytes(body)), eventId);
    }

    private async Task<T> SentAsync<T>(string eventId) where T : class, IRegistryEvent
    {
        Assert.True(await app.Harness.Sent.Any<T>(m => m.Context.Message.EventId == eventId), $"No {typeof(T).Name} with event id {eventId} was sent.");
        return app.Harness.Sent.Select<T>(m => m.Context.Message.EventId == eventId).Single().Context.Message;
    }

    private double Count(string action, string outcome) => app.Metrics.Events.WithLabels(action, outcome).Value;

    [Theory]
    [InlineData(V1)]
    [InlineData("application/vnd.docker.distribution.events.v2+json")]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    public async Task A_manifest_push_is_sent_to_the_events_queue_before_the_200(string contentType)
    {
        var (content, eventId) = UniqueEnvelope("manifest-push-by-tag");
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await app.Harness.Sent.Any<ManifestPushed>(m => m.Context.Message.EventId == eventId));
        var sent = app.Harness.Sent.Select<ManifestPushed>(m => m.Context.Message.EventId == eventId).Single().Context;
        Assert.Equal(EventMessageId.From(eventId), sent.MessageId);
        Assert.EndsWith(QueueNames.RegistryEvents, sent.DestinationAddress!.AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hostile_instance_id_is_treated_as_absent_and_logged_nowhere()
    {
        const string instanceId = "31ecb4b3-0411-481f-8346-1b9cd8d2da46";
        var hostile = "a\r\n\u001b[31mINFO forged line " + new string('x', 100);
        var eventId = Guid.NewGuid().ToString();
        var body = Encoding.UTF8.GetString(RegistryFixtures.Body("manifest-push-by-tag"))
            .Replace(RegistryFixtures.Event("manifest-push-by-tag").Id!, eventId, StringComparison.Ordinal)
            .Replace(instanceId, System.Text.Json.JsonEncodedText.Encode(hostile).ToString(), StringComparison.Ordinal);
        var changes = app.Metrics.SourceInstanceChanges.Value;
        var linesBefore = app.Logs.Lines.Count;

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(Encoding.UTF8.GetBytes(body)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null((await SentAsync<ManifestPushed>(eventId)).SourceInstanceId);
        Assert.Equal(changes, app.Metrics.SourceInstanceChanges.Value);
        Assert.DoesNotContain(app.Logs.Lines.Skip(linesBefore), l => l.Message.Contains("forged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Control_characters_from_the_wire_reach_no_log_line_unescaped()
    {
        var linesBefore = app.Logs.Lines.Count;
        byte[][] bodies =
        [
            Encoding.UTF8.GetBytes("{\"events\": [\u001b[2J\r\nforged"),
            [(byte)'{', 0x1b, (byte)'[', (byte)'2', (byte)'J', 0x0a, 0x00],
            Encoding.UTF8.GetBytes("{\"events\": [{\"action\": \"push\u0007\r\n\"}]}"),
        ];

        foreach (var body in bodies)
            Assert.Equal(HttpStatusCode.OK, (await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(body))).StatusCode);

        var lines = app.Logs.Lines.Skip(linesBefore).Select(l => l.Message).ToList();
        Assert.Contains(lines, l => l.StartsWith("Quarantined", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Any(char.IsControl));
    }

    [Fact]
    public async Task A_rotated_token_is_accepted_too()
    {
        var response = await app.CreateAuthorizedClient(ListenerApp.RotatedToken).PostAsync("/v1/events", Envelope("tag-delete-side-effect"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("two header lines")]
    [InlineData("one joined line")]
    public async Task Any_one_valid_credential_among_the_registrys_list_of_Authorization_values_is_accepted(string shape)
    {
        string[] values = ["Bearer not-the-configured-token-0000", $"Bearer {ListenerApp.RotatedToken}"];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Envelope("tag-delete-side-effect") };
        if (shape == "two header lines")
            request.Headers.TryAddWithoutValidation("Authorization", values);
        else
            request.Headers.TryAddWithoutValidation("Authorization", string.Join(',', values));

        var response = await app.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_list_of_wrong_credentials_is_401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Envelope("tag-delete-side-effect") };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer wrong-token-0000000000000,Basic Zm9vOmJhcg==,");

        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Configured_basic_credentials_are_accepted_instead_of_a_token()
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = BasicHeader(ListenerApp.BasicUser, ListenerApp.BasicPassword);
        var (content, eventId) = UniqueEnvelope("manifest-delete-by-digest");

        var response = await client.PostAsync("/v1/events", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await SentAsync<DigestDeleted>(eventId);
    }

    public static TheoryData<string?> InvalidAuthorizations => new()
    {
        null,
        "Bearer wrong-token-0123456789",
        "Bearer ",
        "Bearer",
        $"Bearer {ListenerApp.Token}x",
        $"Token {ListenerApp.Token}",
        $"Basic {Base64($"{ListenerApp.BasicUser}:wrong-password-0123456789")}",
        $"Basic {Base64($"someone:{ListenerApp.BasicPassword}")}",
        $"Basic {Base64($"{ListenerApp.BasicUser}:{ListenerApp.Token}")}",
        $"Basic {Base64($"{ListenerApp.BasicUser}{ListenerApp.BasicPassword}")}",
        "Basic not-base64!",
        $"Bearer {Base64($"{ListenerApp.BasicUser}:{ListenerApp.BasicPassword}")}",
    };

    [Theory]
    [MemberData(nameof(InvalidAuthorizations))]
    public async Task Without_valid_credentials_the_answer_is_401_with_both_challenges_and_nothing_is_sent(string? authorization)
    {
        var client = app.CreateClient();
        if (authorization is not null)
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        var published = PublishedCount;
        var rejected = Count("unknown", "rejected");

        var response = await client.PostAsync("/v1/events", Envelope("manifest-delete-by-digest"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(["Bearer", "Basic"], response.Headers.WwwAuthenticate.Select(c => c.Scheme));
        Assert.Equal(published, PublishedCount);
        Assert.Equal(rejected + 1, Count("unknown", "rejected"));
    }

    [Fact]
    public async Task Credentials_never_appear_in_the_log_whether_accepted_or_not()
    {
        string[] secrets = [ListenerApp.Token, ListenerApp.RotatedToken, ListenerApp.BasicPassword, Base64($"{ListenerApp.BasicUser}:{ListenerApp.BasicPassword}")];
        await app.CreateAuthorizedClient().PostAsync("/v1/events", Envelope("manifest-push-by-tag"));
        await app.CreateAuthorizedClient().PostAsync("/v1/events", Body("not json"u8.ToArray()));
        var basic = app.CreateClient();
        basic.DefaultRequestHeaders.Authorization = BasicHeader(ListenerApp.BasicUser, ListenerApp.BasicPassword);
        await basic.PostAsync("/v1/events", Envelope("manifest-push-by-tag"));
        var wrong = app.CreateClient();
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ListenerApp.Token + "-almost");
        await wrong.PostAsync("/v1/events", Envelope("manifest-push-by-tag"));

        var lines = app.Logs.Lines;
        Assert.Contains(lines, l => l.Level == LogLevel.Warning && l.Message.Contains("401", StringComparison.Ordinal));
        foreach (var secret in secrets)
            Assert.DoesNotContain(lines, l => l.Message.Contains(secret, StringComparison.Ordinal) || (l.Exception?.ToString().Contains(secret, StringComparison.Ordinal) ?? false));
    }

    [Fact]
    public async Task Every_notification_request_writes_one_debug_line()
    {
        static int Answered(IEnumerable<LogCapture.LogLine> lines) => lines.Count(l =>
            l.Category == typeof(NotificationHandler).FullName && l.Level == LogLevel.Debug && l.Message.StartsWith("POST /v1/events answered", StringComparison.Ordinal));
        var before = Answered(app.Logs.Lines);

        await app.CreateAuthorizedClient().PostAsync("/v1/events", Envelope("blob-push"));
        await app.CreateClient().PostAsync("/v1/events", Envelope("blob-push"));

        var lines = app.Logs.Lines;
        Assert.Equal(before + 2, Answered(lines));
        Assert.Contains(lines, l => l.Message.StartsWith("POST /v1/events answered 401", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/jsonx")]
    [InlineData(null)]
    public async Task A_wrong_or_missing_content_type_from_the_registry_is_quarantined_and_answered_200(string? contentType)
    {
        var body = RegistryFixtures.Body("manifest-push-by-tag");
        var quarantined = app.Metrics.Events.WithLabels("unknown", "quarantined").Value;

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(body, contentType));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kept = app.Quarantine.Recent[^1];
        Assert.Equal(body, kept.Body.ToArray());
        Assert.Contains("Content-Type", kept.Reason, StringComparison.Ordinal);
        Assert.Equal(quarantined + 1, app.Metrics.Events.WithLabels("unknown", "quarantined").Value);
    }

    [Fact]
    public async Task An_oversized_body_from_the_registry_is_quarantined_cut_whether_announced_or_chunked()
    {
        var announced = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(new byte[65537]));
        Assert.Equal(HttpStatusCode.OK, announced.StatusCode);
        Assert.Equal(65536, app.Quarantine.Recent[^1].Body.Length);
        Assert.Equal(65537, app.Quarantine.Recent[^1].SentLength);

        var chunked = new StreamContent(new MemoryStream(new byte[200_000]));
        chunked.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var client = app.CreateAuthorizedClient();
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(-1, app.Quarantine.Recent[^1].SentLength);
        Assert.Contains("exceeds 65536 bytes", app.Quarantine.Recent[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_credentials_a_wrong_content_type_or_an_oversized_body_is_still_401()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().PostAsync("/v1/events", Body(new byte[65537]))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().PostAsync("/v1/events", Body(RegistryFixtures.Body("manifest-push-by-tag"), "text/plain"))).StatusCode);
    }

    [Theory]
    [InlineData("", "not a notification envelope")]
    [InlineData("not json", "not a notification envelope")]
    [InlineData("{\"events\": 5}", "not a notification envelope")]
    [InlineData("{\"events\": []}", "no events")]
    [InlineData("{\"events\": [null]}", "event is null")]
    [InlineData("[]", "not a notification envelope")]
    [InlineData("{\"events\": [{\"action\": 7}]}", "not a notification envelope")]
    public async Task A_malformed_envelope_from_an_authenticated_registry_is_acknowledged_quarantined_whole_and_not_sent(string body, string reason)
    {
        var published = PublishedCount;
        var quarantined = app.Quarantine.Count;

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(Encoding.UTF8.GetBytes(body)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(published, PublishedCount);
        Assert.Equal(quarantined + 1, app.Quarantine.Count);
        var kept = app.Quarantine.Recent[^1];
        Assert.Equal(body, Encoding.UTF8.GetString(kept.Body.Span));
        Assert.Contains(reason, kept.Reason, StringComparison.Ordinal);
        Assert.Equal(V1, kept.ContentType);
    }

    [Fact]
    public async Task An_invalid_event_is_quarantined_and_counted_under_its_action()
    {
        var body = Encoding.UTF8.GetString(RegistryFixtures.Body("manifest-push-by-tag"))
            .Replace("\"repository\": \"", "\"repository\": \"../", StringComparison.Ordinal);
        var quarantined = Count("push", "quarantined");

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(Encoding.UTF8.GetBytes(body)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(quarantined + 1, Count("push", "quarantined"));
        Assert.Contains("push event: target.repository", app.Quarantine.Recent[^1].Reason, StringComparison.Ordinal);
        Assert.Contains(app.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("target.repository", StringComparison.Ordinal));
    }

    [Fact]
    public async Task In_an_envelope_with_a_valid_and_an_invalid_event_the_valid_one_is_published_and_the_whole_body_quarantined()
    {
        var validId = Guid.NewGuid().ToString();
        var valid = System.Text.Json.Nodes.JsonNode.Parse(RegistryFixtures.Body("manifest-delete-by-digest"))!["events"]![0]!;
        valid["id"] = validId;
        var invalid = valid.DeepClone();
        invalid["id"] = Guid.NewGuid().ToString();
        invalid["target"]!["digest"] = "sha256:short";
        var body = Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject { ["events"] = new System.Text.Json.Nodes.JsonArray(valid.DeepClone(), invalid) }.ToJsonString());
        var published = Count("delete", "published");
        var quarantined = Count("delete", "quarantined");

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(published + 1, Count("delete", "published"));
        Assert.Equal(quarantined + 1, Count("delete", "quarantined"));
        await SentAsync<DigestDeleted>(validId);
        var kept = app.Quarantine.Recent[^1];
        Assert.Equal(body, kept.Body.ToArray());
        Assert.Equal("delete event: target.digest is not a valid sha256/sha512 digest", kept.Reason);
    }

    [Fact]
    public async Task When_the_quarantine_cannot_keep_a_bad_envelope_the_answer_is_503_so_the_registry_retries()
    {
        var failures = app.Metrics.PublishFailures.Value;
        var quarantined = Count("unknown", "quarantined");
        app.Quarantine.FailWith = new InvalidOperationException("broker unreachable");
        try
        {
            var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body("not json"u8.ToArray()));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
            Assert.Equal(failures + 1, app.Metrics.PublishFailures.Value);
            Assert.Equal(quarantined, Count("unknown", "quarantined"));
        }
        finally
        {
            app.Quarantine.FailWith = null;
        }
    }

    [Fact]
    public async Task Deeply_nested_json_is_quarantined_without_being_parsed_to_the_end()
    {
        var body = "{\"events\":[{\"target\":" + string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000) + "}]}";
        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(Encoding.UTF8.GetBytes(body)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("depth", app.Quarantine.Recent[^1].Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Another_method_is_405_and_an_unknown_path_404()
    {
        var client = app.CreateAuthorizedClient();
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.GetAsync("/v1/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/v1/other", Envelope("manifest-push-by-tag"))).StatusCode);
    }

    [Theory]
    [InlineData("blob-push", "push", "ignored")]
    [InlineData("blob-mount", "mount", "ignored")]
    [InlineData("manifest-pull-get-by-tag", "pull", "ignored")]
    [InlineData("manifest-push-by-tag", "push", "published")]
    [InlineData("manifest-delete-by-digest", "delete", "published")]
    [InlineData("tag-delete-side-effect", "delete", "published")]
    public async Task Events_are_counted_by_action_and_outcome(string fixture, string action, string outcome)
    {
        var before = Count(action, outcome);
        await app.CreateAuthorizedClient().PostAsync("/v1/events", Envelope(fixture));
        Assert.Equal(before + 1, Count(action, outcome));
    }

    [Fact]
    public async Task A_mount_of_a_manifest_is_published_and_counted_as_a_mount()
    {
        var eventId = Guid.NewGuid().ToString();
        var body = Encoding.UTF8.GetString(RegistryFixtures.Body("manifest-push-by-tag"))
            .Replace(RegistryFixtures.Event("manifest-push-by-tag").Id!, eventId, StringComparison.Ordinal)
            .Replace("\"action\": \"push\"", "\"action\": \"mount\"", StringComparison.Ordinal)
            .Replace("\"target\": {", "\"target\": {\"fromRepository\": \"fix/elsewhere\",", StringComparison.Ordinal);
        var before = Count("mount", "published");

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Body(Encoding.UTF8.GetBytes(body)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 1, Count("mount", "published"));
        Assert.Equal("fix/elsewhere", (await SentAsync<ManifestPushed>(eventId)).FromRepository);
    }

    [Fact]
    public async Task A_registry_instance_id_that_replaces_a_known_one_is_counted_once()
    {
        var changes = app.Metrics.SourceInstanceChanges.Value;
        var template = Encoding.UTF8.GetString(RegistryFixtures.Body("manifest-pull-get-by-tag"));
        var instanceId = RegistryFixtures.Event("manifest-pull-get-by-tag").Source!.InstanceId!;
        var first = Guid.NewGuid().ToString();
        var second = Guid.NewGuid().ToString();
        var client = app.CreateAuthorizedClient();

        // The fixture's own id first: the very first id a Listener sees is not a restart.
        foreach (var id in new[] { instanceId, first, first, second, first })
            await client.PostAsync("/v1/events", Body(Encoding.UTF8.GetBytes(template.Replace(instanceId, id, StringComparison.Ordinal))));

        Assert.Equal(changes + 2, app.Metrics.SourceInstanceChanges.Value);
        Assert.True(app.Metrics.LastSourceInstanceChange.Value > DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds());
    }

    [Fact]
    public async Task The_metrics_page_shows_every_listener_metric_with_its_labels()
    {
        var client = app.CreateAuthorizedClient();
        await client.PostAsync("/v1/events", Envelope("blob-push"));
        await client.PostAsync("/v1/events", Envelope("manifest-push-by-tag"));

        var metrics = await client.GetStringAsync("/metrics");

        Assert.Matches("registry_integrity_listener_events_total\\{action=\"push\",outcome=\"ignored\"\\} [1-9]", metrics);
        Assert.Matches("registry_integrity_listener_events_total\\{action=\"push\",outcome=\"published\"\\} [1-9]", metrics);
        Assert.Matches("registry_integrity_listener_request_duration_seconds_bucket\\{code=\"200\",le=\"0.001\"\\}", metrics);
        Assert.Contains("registry_integrity_listener_publish_failures_total ", metrics, StringComparison.Ordinal);
        Assert.Matches("registry_integrity_listener_last_event_timestamp_seconds [1-9]", metrics);
        Assert.Contains("registry_integrity_listener_source_instance_changes_total ", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_listener_last_source_instance_change_timestamp_seconds ", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_listener_events_queue_full_total ", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_listener_broker_reachable ", metrics, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", metrics, StringComparison.Ordinal);
    }

    private static string Base64(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value));

    private static AuthenticationHeaderValue BasicHeader(string user, string password) => new("Basic", Base64($"{user}:{password}"));
}
