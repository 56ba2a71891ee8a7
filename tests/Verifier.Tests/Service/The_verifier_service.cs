using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Service;

/// <summary>
/// The Verifier service as composed by Program, against its own real registry, with MassTransit's
/// in-memory harness in place of RabbitMQ (consumer logic; the RabbitMQ path is proven end to end).
/// One app for the whole class.
/// </summary>
public sealed class VerifierApp : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"verifier-service-{Guid.NewGuid():N}.db");
    private LocalStack _stack = null!;

    public WebApplicationFactory<Program> App { get; private set; } = null!;

    public RegistryPusher Pusher { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _stack = await LocalStack.StartAsync(StackServices.Registry);
        Pusher = new RegistryPusher(_stack.RegistryUri);
        App = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
            builder.UseSetting("Registry:BaseUrl", _stack.RegistryUri.ToString());
            builder.UseSetting("Store:Provider", "Sqlite");
            builder.UseSetting("Store:ConnectionString", $"Data Source={_database}");
            builder.ConfigureTestServices(services =>
            {
                services.AddMassTransitTestHarness();
                services.PostConfigureAll<HttpStandardResilienceOptions>(options => options.Retry.Delay = TimeSpan.FromMilliseconds(1));
            });
        });
        await App.Services.GetTestHarness().Start();
    }

    public async Task DisposeAsync()
    {
        Pusher.Dispose();
        await App.DisposeAsync();
        await _stack.DisposeAsync();
        File.Delete(_database);
    }
}

public sealed class The_verifier_service(VerifierApp fixture) : IClassFixture<VerifierApp>, IDisposable
{
    private readonly WebApplicationFactory<Program> _app = fixture.App;
    private readonly ITestHarness _harness = fixture.App.Services.GetTestHarness();
    private readonly RegistryPusher _pusher = fixture.Pusher;
    private readonly HttpClient _http = fixture.App.CreateClient();

    public void Dispose() => _http.Dispose();

    private static ManifestPushed Pushed(string repository, string digest, string? tag) => new()
    {
        EventId = Guid.NewGuid().ToString(), OccurredAt = DateTimeOffset.UtcNow, Repository = repository, Digest = digest, Tag = tag, SourceInstanceId = "test",
    };

    private async Task ConsumeAsync<T>(T message) where T : class, IRegistryEvent
    {
        var before = Consumed(message);
        await _harness.Bus.Publish(message);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Consumed(message) == before && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.True(Consumed(message) > before, $"{typeof(T).Name} was not consumed");
        Assert.False(await _harness.Published.Any<Fault<T>>(), $"{typeof(T).Name} faulted");
    }

    // Each event type also reaches RegistryRestartConsumer: count only the consumer that does the work.
    private int Consumed<T>(T message) where T : class, IRegistryEvent
    {
        var consumed = message switch
        {
            ManifestPushed => _harness.GetConsumerHarness<Consumers.ManifestPushedConsumer>().Consumed,
            DigestDeleted => _harness.GetConsumerHarness<Consumers.DigestDeletedConsumer>().Consumed,
            _ => _harness.GetConsumerHarness<Consumers.TagDeletedConsumer>().Consumed,
        };
        return consumed.Select<T>(m => m.Context.Message.EventId == message.EventId).Count();
    }

    private async Task<JsonElement> ManifestAsync(string repository, string digest)
    {
        var response = await _http.GetAsync($"/v1/manifests?repository={repository}&digest={digest}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task A_push_is_verified_once_even_when_the_event_comes_twice()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("svc"), "v1");
        var pushed = Pushed(index.Repository, index.Digest, "v1");

        await ConsumeAsync(pushed);
        await ConsumeAsync(pushed with { });

        var body = await ManifestAsync(index.Repository, index.Digest);
        Assert.Equal("healthy", body.GetProperty("manifest").GetProperty("result").GetString());
        Assert.Equal(["v1"], body.GetProperty("manifest").GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(pushed.EventId, body.GetProperty("history").EnumerateArray().Single().GetProperty("eventId").GetString());
    }

    [Fact]
    public async Task Re_pushing_a_deleted_child_heals_its_index_with_the_push_event_not_the_next_sweep()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("svc"), "v1");
        await ConsumeAsync(Pushed(index.Repository, index.Digest, "v1"));
        var child = index.Children[0];
        var body = await _pusher.GetManifestBytesAsync(index.Repository, child.Digest, child.MediaType);
        await _pusher.DeleteManifestAsync(index.Repository, child.Digest);
        await ConsumeAsync(new DigestDeleted { EventId = Guid.NewGuid().ToString(), OccurredAt = DateTimeOffset.UtcNow, Repository = index.Repository, Digest = child.Digest });
        Assert.Equal("broken", (await ManifestAsync(index.Repository, index.Digest)).GetProperty("manifest").GetProperty("result").GetString());

        await _pusher.PushManifestAsync(index.Repository, child.Digest, child.MediaType, body);
        await ConsumeAsync(Pushed(index.Repository, child.Digest, null));

        Assert.Equal("healthy", (await ManifestAsync(index.Repository, index.Digest)).GetProperty("manifest").GetProperty("result").GetString());
        var broken = await _http.GetFromJsonAsync<JsonElement>("/v1/broken");
        Assert.DoesNotContain(broken.EnumerateArray(), b => b.GetProperty("digest").GetString() == index.Digest);
    }

    [Fact]
    public async Task Deleting_a_child_flags_the_index_as_broken_data_not_a_fault_and_it_is_listed_and_counted()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("svc"), "v1");
        await ConsumeAsync(Pushed(index.Repository, index.Digest, "v1"));
        var child = index.Children[1].Digest;

        await _pusher.DeleteManifestAsync(index.Repository, child);
        await ConsumeAsync(new DigestDeleted { EventId = Guid.NewGuid().ToString(), OccurredAt = DateTimeOffset.UtcNow, Repository = index.Repository, Digest = child });

        var manifest = (await ManifestAsync(index.Repository, index.Digest)).GetProperty("manifest");
        Assert.Equal("broken", manifest.GetProperty("result").GetString());
        Assert.Equal(child, manifest.GetProperty("missing").EnumerateArray().Single().GetProperty("digest").GetString());
        Assert.NotNull((await ManifestAsync(index.Repository, child)).GetProperty("manifest").GetProperty("deletedAt").GetString());

        var broken = await _http.GetFromJsonAsync<JsonElement>("/v1/broken");
        var listed = broken.EnumerateArray().Single(b => b.GetProperty("digest").GetString() == index.Digest);
        Assert.Equal(["v1"], listed.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(child, listed.GetProperty("missing")[0].GetProperty("digest").GetString());
        Assert.Equal("linux/arm64", listed.GetProperty("missing")[0].GetProperty("platform").GetString());
        Assert.Equal(Api.ApiOptions.DefaultBrokenRunbookUrl, listed.GetProperty("runbook").GetString());
        Assert.NotNull(listed.GetProperty("since").GetString());

        var status = await _http.GetFromJsonAsync<JsonElement>("/v1/status");
        var counts = await _app.Services.GetRequiredService<IVerdictStore>().CountVerdictsAsync(default);
        Assert.True(counts.Broken >= 1);
        Assert.Equal(counts.Broken, status.GetProperty("manifests").GetProperty("broken").GetInt64());
        Assert.Equal(counts.MissingObjects, status.GetProperty("missingObjects").GetInt64());

        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Contains($"registry_integrity_broken_manifests {counts.Broken}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"registry_integrity_missing_objects {counts.MissingObjects}\n", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_verifications_total{result=\"broken\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_event_to_verdict_seconds_count", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_walk_duration_seconds_count", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_registry_requests_total{kind=\"manifest\",code=\"404\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_registry_up ", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tag_delete_removes_the_tag()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("svc"), "v1");
        await ConsumeAsync(Pushed(image.Repository, image.Digest, "v1"));
        await ConsumeAsync(Pushed(image.Repository, image.Digest, "stable"));

        await ConsumeAsync(new TagDeleted { EventId = Guid.NewGuid().ToString(), OccurredAt = DateTimeOffset.UtcNow, Repository = image.Repository, Tag = "v1" });

        var tags = (await ManifestAsync(image.Repository, image.Digest)).GetProperty("manifest").GetProperty("tags");
        Assert.Equal(["stable"], tags.EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task A_tags_push_event_delivered_after_its_delete_does_not_bring_the_tag_back_and_a_re_push_does()
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("svc"), "v1");
        var pushedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        await ConsumeAsync(new TagDeleted { EventId = Guid.NewGuid().ToString(), OccurredAt = pushedAt.AddSeconds(1), Repository = image.Repository, Tag = "v1" });

        await ConsumeAsync(Pushed(image.Repository, image.Digest, "v1") with { OccurredAt = pushedAt });

        Assert.Empty((await ManifestAsync(image.Repository, image.Digest)).GetProperty("manifest").GetProperty("tags").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/v1/manifests?repository={image.Repository}&tag=v1")).StatusCode);

        await ConsumeAsync(Pushed(image.Repository, image.Digest, "v1"));

        Assert.Equal(["v1"], (await ManifestAsync(image.Repository, image.Digest)).GetProperty("manifest").GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task Status_reports_the_registry_reachable_and_the_service_ready()
    {
        var status = await _http.GetFromJsonAsync<JsonElement>("/v1/status");

        Assert.True(status.GetProperty("registry").GetProperty("reachable").GetBoolean());
        Assert.Equal(200, status.GetProperty("registry").GetProperty("statusCode").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/healthz/ready")).StatusCode);
    }

    [Theory]
    [InlineData("repository=Team/App&digest=sha256:0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.BadRequest)]
    [InlineData("repository=team/app&digest=sha256:short", HttpStatusCode.BadRequest)]
    [InlineData("digest=sha256:0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.BadRequest)]
    [InlineData("repository=team/app&digest=sha256:0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.NotFound)]
    public async Task Manifest_lookups_answer_400_for_invalid_names_and_404_for_unknown_ones(string query, HttpStatusCode expected)
    {
        var response = await _http.GetAsync($"/v1/manifests?{query}");

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
