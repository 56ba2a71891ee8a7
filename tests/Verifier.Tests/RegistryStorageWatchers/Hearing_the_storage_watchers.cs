using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Consumers;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.RegistryStorageWatchers;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.RegistryStorageWatchers;

/// <summary>
/// The Verifier service as composed by Program, with MassTransit's in-memory harness in place of RabbitMQ, a fake
/// registry and a fake clock. One app for the class; each test starts a day and a minute after the last, so the
/// watchers earlier tests reported are no longer listed.
/// </summary>
public sealed class HeartbeatVerifierApp : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"verifier-watchers-{Guid.NewGuid():N}.db");
    private readonly FakeRegistry _registry = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public WebApplicationFactory<Program> App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
            builder.UseSetting("Registry:BaseUrl", FakeRegistry.BaseUrl.ToString());
            builder.UseSetting("Store:Provider", "Sqlite");
            builder.UseSetting("Store:ConnectionString", $"Data Source={_database}");
            builder.UseSetting("Sweep:Enabled", "false");
            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<TimeProvider>(Time);
                services.AddHttpClient<RegistryClient>().ConfigurePrimaryHttpMessageHandler(() => _registry);
                services.AddMassTransitTestHarness();
            });
        });
        await App.Services.GetTestHarness().Start();
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        File.Delete(_database);
    }
}

/// <summary>What the Verifier keeps of the storage watchers' state messages and shows in /v1/status and /metrics.</summary>
public sealed class Hearing_the_storage_watchers : IClassFixture<HeartbeatVerifierApp>, IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time;
    private readonly ITestHarness _harness;
    private readonly HttpClient _http;

    public Hearing_the_storage_watchers(HeartbeatVerifierApp fixture)
    {
        _time = fixture.Time;
        _time.Advance(StorageWatcherReports.Listed + TimeSpan.FromMinutes(1));
        _harness = fixture.App.Services.GetTestHarness();
        _http = fixture.App.CreateClient();
    }

    public void Dispose() => _http.Dispose();

    private RegistryStorageWatcherStatus Status(string watcher, string state, string? reason, DateTimeOffset since, DateTimeOffset sentAt) => new()
    {
        Watcher = watcher, State = state, Reason = reason, Since = since, SentAt = sentAt, HeartbeatInterval = Interval,
    };

    /// <summary>Publishes and waits (real time, generous) until the consumer is done with it, without a fault.</summary>
    private async Task DeliverAsync(RegistryStorageWatcherStatus message)
    {
        var id = NewId.NextGuid();
        await _harness.Bus.Publish(message, context => context.MessageId = id);
        var consumed = _harness.GetConsumerHarness<RegistryStorageWatcherStatusConsumer>().Consumed;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!consumed.Select<RegistryStorageWatcherStatus>(m => m.Context.MessageId == id).Any() && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.True(consumed.Select<RegistryStorageWatcherStatus>(m => m.Context.MessageId == id).Any(), "not consumed");
        Assert.False(await _harness.Published.Any<Fault<RegistryStorageWatcherStatus>>(), "the consumer faulted");
    }

    private async Task<List<JsonElement>> StorageWatchersAsync()
    {
        var status = await _http.GetFromJsonAsync<JsonElement>("/v1/status");
        return status.GetProperty("storageWatchers").EnumerateArray().ToList();
    }

    private async Task<JsonElement> WatcherAsync(string id) => Assert.Single(await StorageWatchersAsync(), w => w.GetProperty("id").GetString() == id);

    [Fact]
    public async Task Without_any_watcher_the_status_lists_none_and_the_gauge_counts_zero()
    {
        Assert.Empty(await StorageWatchersAsync());
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Contains("registry_integrity_storage_watchers{state=\"silent\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_storage_watchers{state=\"watching\"} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_late_older_heartbeat_after_a_newer_state_change_keeps_the_newer()
    {
        var t0 = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(40));
        await DeliverAsync(Status("node-a:/var/lib/registry", "not-watching", "/var/lib/registry/docker/registry/v2 is gone (unmounted or removed)",
            t0.AddSeconds(40), t0.AddSeconds(40)));
        // The heartbeat sent at 30 s, before the root went, arrives last.
        await DeliverAsync(Status("node-a:/var/lib/registry", "watching", null, t0, t0.AddSeconds(30)));

        var watcher = await WatcherAsync("node-a:/var/lib/registry");
        Assert.Equal("not-watching", watcher.GetProperty("state").GetString());
        Assert.StartsWith("/var/lib/registry/docker/registry/v2 is gone", watcher.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(t0.AddSeconds(40), watcher.GetProperty("since").GetDateTimeOffset());
        Assert.Equal(t0.AddSeconds(40), watcher.GetProperty("lastHeardAt").GetDateTimeOffset());
        Assert.False(watcher.GetProperty("silent").GetBoolean());
    }

    [Fact]
    public async Task A_not_watching_then_watching_shows_watching_since_the_change_without_a_reason()
    {
        var t0 = _time.GetUtcNow();
        await DeliverAsync(Status("node-a:/r", "not-watching", "the storage has more than 100 directories", t0, t0));
        _time.Advance(TimeSpan.FromSeconds(7));
        await DeliverAsync(Status("node-a:/r", "watching", null, t0.AddSeconds(7), t0.AddSeconds(7)));

        var watcher = await WatcherAsync("node-a:/r");
        Assert.Equal("watching", watcher.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, watcher.GetProperty("reason").ValueKind);
        Assert.Equal(t0.AddSeconds(7), watcher.GetProperty("since").GetDateTimeOffset());
        Assert.Contains("registry_integrity_storage_watchers{state=\"watching\"} 1", await _http.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_watcher_not_heard_for_three_intervals_is_silent_in_the_status_and_the_gauge()
    {
        var t0 = _time.GetUtcNow();
        await DeliverAsync(Status("node-a:/r", "watching", null, t0, t0));

        _time.Advance(Interval * 3 - TimeSpan.FromSeconds(1));
        Assert.False((await WatcherAsync("node-a:/r")).GetProperty("silent").GetBoolean());
        Assert.Contains("registry_integrity_storage_watchers{state=\"watching\"} 1", await _http.GetStringAsync("/metrics"), StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(1));
        var silent = await WatcherAsync("node-a:/r");
        Assert.True(silent.GetProperty("silent").GetBoolean());
        Assert.Equal("watching", silent.GetProperty("state").GetString());
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Contains("registry_integrity_storage_watchers{state=\"silent\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_integrity_storage_watchers{state=\"watching\"} 0", metrics, StringComparison.Ordinal);

        // Heard again: no longer silent. A day after it was last heard it is no longer listed at all.
        await DeliverAsync(Status("node-a:/r", "watching", null, t0, _time.GetUtcNow()));
        Assert.False((await WatcherAsync("node-a:/r")).GetProperty("silent").GetBoolean());
        _time.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        Assert.Empty(await StorageWatchersAsync());
    }

    [Fact]
    public async Task Hostile_messages_are_dropped_or_bounded_and_never_fault()
    {
        var now = _time.GetUtcNow();
        await DeliverAsync(Status(new string('x', 513), "watching", null, now, now));
        await DeliverAsync(Status("node-a:/r", "sleeping", null, now, now));
        await DeliverAsync(Status("", "watching", null, now, now));
        await DeliverAsync(Status("node-\u0007:/r", "watching", null, now, now));
        await DeliverAsync(Status("node-a:/r", "watching", null, now, now) with { HeartbeatInterval = TimeSpan.Zero });
        Assert.Empty(await StorageWatchersAsync());

        // From a clock a day ahead, with a huge reason: capped at the Verifier's now, cut to 1000 characters.
        await DeliverAsync(Status(new string('w', 512), "not-watching", new string('r', 5000), now.AddDays(1), now.AddDays(1)));
        var watcher = Assert.Single(await StorageWatchersAsync());
        Assert.Equal(512, watcher.GetProperty("id").GetString()!.Length);
        Assert.Equal(1000, watcher.GetProperty("reason").GetString()!.Length);
        Assert.Equal(now, watcher.GetProperty("lastHeardAt").GetDateTimeOffset());
        Assert.Equal(now, watcher.GetProperty("since").GetDateTimeOffset());
    }
}
