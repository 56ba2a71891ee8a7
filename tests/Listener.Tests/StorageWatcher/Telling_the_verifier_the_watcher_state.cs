using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Listener.StorageWatcher;
using RegistryIntegrity.Listener.Tests.RealStack;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests.StorageWatcher;

/// <summary>The <c>watch-storage</c> mode, hosted in the test process (against a real RabbitMQ, or none), on a temporary storage root.</summary>
public sealed class Telling_the_verifier_the_watcher_state
{
    [Fact]
    public Task Each_change_of_state_is_sent_at_once_on_the_events_queue() =>
        WithAWatcherOfAnEmptyRootAsync(async (stack, root, app) =>
        {
            // No docker/registry/v2 under the root yet: not watching.
            var notWatching = await StatesAsync(stack, 1);
            Directory.CreateDirectory(Path.Combine(root, "docker", "registry", "v2"));
            var watching = await StatesAsync(stack, 1);
            await app.StopAsync();

            var first = Assert.Single(notWatching);
            var then = Assert.Single(watching);
            Assert.Equal(RegistryStorageWatcherStatus.WatcherId(Environment.MachineName, root), first.Watcher);
            Assert.Equal(first.Watcher, then.Watcher);
            Assert.Equal((RegistryStorageWatcherStates.NotWatching, RegistryStorageWatcherStates.Watching), (first.State, then.State));
            Assert.Contains("does not exist", first.Reason, StringComparison.Ordinal);
            Assert.Null(then.Reason);
            Assert.True(then.Since > first.Since, $"{then.Since:O} after {first.Since:O}");
            Assert.True(then.SentAt >= then.Since);
            Assert.All([first, then], m => Assert.Equal(TimeSpan.FromHours(1), m.HeartbeatInterval));
        });

    [Fact]
    public Task A_root_that_appears_after_the_start_gets_a_reconciling_sweep_once_it_is_watched() =>
        WithAWatcherOfAnEmptyRootAsync(async (_, root, app) =>
        {
            var requests = app.Services.GetRequiredService<StorageWatcherStatus>().SweepRequests;

            // Not watching yet: a fallback sweep covers the storage meanwhile.
            await WaitForAsync(() => requests.WithLabels("storage-watcher-fallback").Value >= 1, "a fallback sweep");
            Directory.CreateDirectory(Path.Combine(root, "docker", "registry", "v2"));
            // Removals between that sweep and the watch's start are only found by another one.
            await WaitForAsync(() => requests.WithLabels("storage-watcher-start").Value >= 1, "a sweep once watching");
            await app.StopAsync();

            Assert.Equal(1, requests.WithLabels("storage-watcher-start").Value);
        });

    /// <summary>
    /// A real RabbitMQ and the watcher on an empty temporary root (no <c>docker/registry/v2</c> yet), checking it every
    /// 200 ms; heartbeats far beyond the test, so every state message it sends is one of a change.
    /// </summary>
    private static async Task WithAWatcherOfAnEmptyRootAsync(Func<LocalStack, string, WebApplication, Task> test)
    {
        await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq);
        var root = Directory.CreateTempSubdirectory("storage-watcher-").FullName;
        try
        {
            await using var app = await StartWatcherAsync(stack.RabbitMqUri, root, new Dictionary<string, string?>
            {
                ["StorageWatcher:RootCheckInterval"] = "200ms",
                ["StorageWatcher:HeartbeatInterval"] = "1h",
            });
            await test(stack, root, app);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(condition(), $"No {what} within 30 s.");
    }

    [Fact]
    public async Task A_heartbeat_the_broker_does_not_take_is_logged_and_tried_again_at_the_next_tick()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new LogCapture();
        var root = Directory.CreateTempSubdirectory("storage-watcher-").FullName;
        try
        {
            // Nothing listens there: every send fails at once (connection refused).
            var noBroker = new Uri($"amqp://guest:guest@127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/");
            await using var app = await StartWatcherAsync(noBroker, root, [], builder =>
            {
                builder.Logging.AddProvider(logs);
                builder.Services.AddSingleton<TimeProvider>(time);
            });

            await WaitForFailedHeartbeatsAsync(logs, 1);
            time.Advance(TimeSpan.FromSeconds(30));
            await WaitForFailedHeartbeatsAsync(logs, 2);
            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Starts the <c>watch-storage</c> mode as Program composes it, on a free loopback port.</summary>
    private static async Task<WebApplication> StartWatcherAsync(
        Uri rabbitMq, string root, Dictionary<string, string?> settings, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        settings["ConnectionStrings:RabbitMq"] = rabbitMq.ToString();
        settings["Urls"] = $"http://127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}";
        settings["StorageWatcher:Root"] = root;
        builder.Configuration.AddInMemoryCollection(settings);
        // Before the watcher's services, so that they keep what is set here (a fake clock: AddSystemTime only fills a gap).
        configure?.Invoke(builder);
        builder.AddStorageWatcherServices();
        var app = builder.Build();
        app.MapStorageWatcherEndpoints();
        await app.StartAsync();
        return app;
    }

    private static async Task WaitForFailedHeartbeatsAsync(LogCapture logs, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        int Failed() => logs.Lines.Count(l => l.Level == LogLevel.Warning && l.Message.StartsWith("Could not tell the Verifier the watcher's state (not-watching", StringComparison.Ordinal));
        while (Failed() < count && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(Failed() >= count, $"{Failed()} failed heartbeats logged, expected {count}:\n{string.Join('\n', logs.Lines.Select(l => l.Message))}");
    }

    /// <summary>Takes the next <paramref name="count"/> watcher state messages off the events queue (generous deadline).</summary>
    private static async Task<List<RegistryStorageWatcherStatus>> StatesAsync(LocalStack stack, int count)
    {
        static bool IsState(QueuedMessage m) => m.MessageType.EndsWith(":" + nameof(RegistryStorageWatcherStatus), StringComparison.Ordinal);
        var messages = await Broker.DrainUntilAsync(stack.RabbitMqUri, QueueNames.RegistryEvents, all => all.Count(IsState) >= count, TimeSpan.FromSeconds(30));
        return messages.Where(IsState).Select(m => m.Message.Deserialize<RegistryStorageWatcherStatus>(JsonSerializerOptions.Web)!).ToList();
    }
}
