using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests.StorageWatcher;

/// <summary>
/// The whole product plus a second Listener in <c>watch-storage</c> mode on the registry's storage root, as it
/// runs beside a registry. Scheduled sweeps are off: the only sweeps are the watcher's start sweep and the
/// registry-restart sweep of the first event, both waited out before a test removes anything.
/// </summary>
public sealed class WatchedProduct : RunningProduct, IAsyncLifetime
{
    public ServiceProcess Watcher { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> ExtraVerifierSettings => new Dictionary<string, string>
    {
        ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
    };

    public HttpClient WatcherApi { get; private set; } = null!;

    /// <summary>The registry's <c>rootdirectory</c> (stack.sh).</summary>
    public string StorageRoot => Path.Combine(Stack.StackDir, "registry", "data");

    public string V2 => Path.Combine(StorageRoot, "docker", "registry", "v2");

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // The storage root exists once the registry wrote something: the first push.
        Directory.CreateDirectory(V2);
        Watcher = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = Stack.RabbitMqUri.ToString(),
            ["StorageWatcher__Root"] = StorageRoot,
            ["StorageWatcher__RootCheckInterval"] = "500ms",
            ["Logging__LogLevel__RegistryIntegrity.Listener.StorageWatcher"] = "Debug",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
        }, arguments: ["watch-storage"]);
        WatcherApi = new HttpClient { BaseAddress = Watcher.BaseUri };
        await WaitForWatcherAsync("watching", TimeSpan.FromSeconds(30));
    }

    public new async Task DisposeAsync()
    {
        WatcherApi.Dispose();
        await Watcher.DisposeAsync();
        await base.DisposeAsync();
    }

    public async Task<JsonElement> WaitForWatcherAsync(string state, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var status = await WatcherApi.GetFromJsonAsync<JsonElement>("/v1/status");
            last = status.ToString();
            if (status.GetProperty("state").GetString() == state)
                return status;
            await Task.Delay(100);
        }
        throw new TimeoutException($"The watcher is not {state} within {within.TotalSeconds} s: {last}\n--- watcher ---\n{Watcher.Output}");
    }

    public SqliteConnection OpenStore() => new($"Data Source={Path.Combine(DataDir, "verifier.db")};Mode=ReadOnly");

    /// <summary>Waits until every sweep ever requested has finished; returns the time after which any sweep would be a new one.</summary>
    public async Task<DateTimeOffset> WaitForNoSweepRunningAsync(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        await using var store = OpenStore();
        while (DateTime.UtcNow < deadline)
        {
            var running = await store.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sweeps WHERE completed_ms IS NULL AND catalog_error IS NULL");
            if (running == 0)
                return DateTimeOffset.UtcNow;
            await Task.Delay(100);
        }
        throw new TimeoutException($"A sweep was still running after {within.TotalSeconds} s\n--- verifier ---\n{Verifier.Output}");
    }

    /// <summary>Sweeps started (requested or run) at or after <paramref name="since"/>.</summary>
    public async Task<IReadOnlyList<string>> SweepsSinceAsync(DateTimeOffset since)
    {
        await using var store = OpenStore();
        return (await store.QueryAsync<string>("SELECT trigger_name FROM sweeps WHERE started_ms >= @since", new { since = since.ToUnixTimeMilliseconds() })).ToList();
    }

    /// <summary>Polls <c>/v1/broken</c> until <paramref name="digest"/> of <paramref name="repository"/> is listed.</summary>
    public async Task<JsonElement?> WaitForBrokenAsync(string repository, string digest, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var broken = await VerifierApi.GetFromJsonAsync<JsonElement>("/v1/broken");
            foreach (var entry in broken.EnumerateArray())
            {
                if (entry.GetProperty("repository").GetString() == repository && entry.GetProperty("digest").GetString() == digest)
                    return entry;
            }
            if (DateTime.UtcNow > deadline)
                return null;
            await Task.Delay(50);
        }
    }

    public async Task<IReadOnlyList<string>> BrokenRepositoriesAsync()
    {
        var broken = await VerifierApi.GetFromJsonAsync<JsonElement>("/v1/broken");
        return broken.EnumerateArray().Select(e => e.GetProperty("repository").GetString()!).ToList();
    }

    public string BlobData(string digest) => Path.Combine(V2, "blobs", "sha256", digest[7..9], digest[7..], "data");

    public string TagDirectory(string repository, string tag) => Path.Combine(V2, "repositories", repository, "_manifests", "tags", tag);
}
