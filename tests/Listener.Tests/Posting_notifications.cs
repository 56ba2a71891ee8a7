using System.Net;
using System.Net.Http.Headers;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Listener.Tests.Fixtures;

namespace RegistryIntegrity.Listener.Tests;

public class Posting_notifications(ListenerApp app) : IClassFixture<ListenerApp>
{
    private const string V1 = "application/vnd.docker.distribution.events.v1+json";

    private static ByteArrayContent Envelope(string fixture, string contentType = V1)
    {
        var content = new ByteArrayContent(RegistryFixtures.Body(fixture));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    [Theory]
    [InlineData(V1)]
    [InlineData("application/vnd.docker.distribution.events.v2+json")]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    public async Task A_manifest_push_is_sent_to_the_events_queue_before_the_200(string contentType)
    {
        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Envelope("manifest-push-by-tag", contentType));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = app.Harness.Sent.Select<ManifestPushed>().Select(m => m.Context).ToList();
        var expectedId = RegistryFixtures.Event("manifest-push-by-tag").Id!;
        Assert.Contains(sent, c => c.Message.EventId == expectedId && c.MessageId == EventMessageId.From(expectedId)
            && c.DestinationAddress!.AbsolutePath.EndsWith(QueueNames.RegistryEvents, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rotated_token_is_accepted_too()
    {
        var response = await app.CreateAuthorizedClient(ListenerApp.RotatedToken).PostAsync("/v1/events", Envelope("tag-delete-side-effect"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-0123456789")]
    [InlineData("")]
    public async Task Without_a_valid_token_the_answer_is_401_and_nothing_is_sent(string? token)
    {
        var client = app.CreateClient();
        if (token is not null)
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"Bearer {token}");
        var before = app.Harness.Sent.Select<IRegistryEvent>().Count();

        var response = await client.PostAsync("/v1/events", Envelope("manifest-delete-by-digest"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(before, app.Harness.Sent.Select<IRegistryEvent>().Count());
    }

    [Fact]
    public async Task Basic_credentials_are_not_a_bearer_token()
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("a:b"u8.ToArray()));
        var response = await client.PostAsync("/v1/events", Envelope("manifest-push-by-tag"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    public async Task A_wrong_content_type_is_415(string contentType)
    {
        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", Envelope("manifest-push-by-tag", contentType));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task An_oversized_body_is_413()
    {
        var content = new ByteArrayContent(new byte[65537]);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"events\": 5}")]
    [InlineData("{\"events\": []}")]
    [InlineData("{\"events\": [null]}")]
    [InlineData("[]")]
    [InlineData("{\"events\": [{\"action\": 7}]}")]
    public async Task A_malformed_envelope_from_an_authenticated_registry_is_acknowledged_and_not_sent(string body)
    {
        var content = new StringContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        var before = app.Harness.Sent.Select<IRegistryEvent>().Count();

        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before, app.Harness.Sent.Select<IRegistryEvent>().Count());
    }

    [Fact]
    public async Task Deeply_nested_json_is_acknowledged_without_being_parsed_to_the_end()
    {
        var body = "{\"events\":[{\"target\":" + string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000) + "}]}";
        var content = new StringContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        var response = await app.CreateAuthorizedClient().PostAsync("/v1/events", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Another_method_is_405_and_an_unknown_path_404()
    {
        var client = app.CreateAuthorizedClient();
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.GetAsync("/v1/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/v1/other", Envelope("manifest-push-by-tag"))).StatusCode);
    }

    [Fact]
    public async Task Metrics_count_events_by_action_and_outcome()
    {
        var client = app.CreateAuthorizedClient();
        await client.PostAsync("/v1/events", Envelope("blob-push"));
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Matches("registry_integrity_listener_events_total\\{action=\"push\",outcome=\"ignored\"\\} [1-9]", metrics);
    }
}
