using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Faults.Tests;

/// <summary>
/// A steady, bounded stream of events: image pushes to the registry (which notifies the Listener)
/// and direct posts of valid envelopes naming real pushed digests. A post is retried with the same
/// event id until it gets a 2xx, as the registry does, so every id tried is eventually acknowledged
/// unless the driver gives up after <see cref="GiveUpAfterStop"/>.
/// </summary>
public sealed class EventDriver : IAsyncDisposable
{
    public static readonly TimeSpan GiveUpAfterStop = TimeSpan.FromSeconds(60);

    private readonly FaultyProduct _product;
    private readonly string _repository;
    private readonly IReadOnlyList<PushedImage> _seeds;
    private readonly HttpClient _listener;
    private readonly RegistryPusher _registry;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _sinceStop = new();
    private Task[] _loops = [];

    public EventDriver(FaultyProduct product, string repository, IReadOnlyList<PushedImage> seeds)
    {
        _product = product;
        _repository = repository;
        _seeds = seeds;
        _listener = new HttpClient { BaseAddress = product.ListenerBase, Timeout = TimeSpan.FromSeconds(5) };
        _listener.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", product.WebhookToken);
        _registry = product.Registry();
    }

    public ConcurrentBag<PushedImage> Pushed { get; } = [];
    public ConcurrentDictionary<string, byte> Tried { get; } = new();
    public ConcurrentDictionary<string, byte> Acknowledged { get; } = new();
    public ConcurrentDictionary<int, int> RefusedByStatus { get; } = new();
    public int PushFailures;

    /// <summary>"repository:tag" of pushes that failed: a registry stopped in the middle of one can leave its tag dangling.</summary>
    public ConcurrentBag<string> FailedPushTags { get; } = [];
    public int PostFailures;

    public void Start() => _loops = [Task.Run(PushLoopAsync), Task.Run(PostLoopAsync)];

    /// <summary>Stops sending new events; waits until every event tried was acknowledged (or the driver gave up).</summary>
    public async Task StopAsync()
    {
        _sinceStop.Start();
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _listener.Dispose();
        _registry.Dispose();
        _stop.Dispose();
    }

    private async Task PushLoopAsync()
    {
        var n = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                Pushed.Add(await _registry.PushImageAsync($"{_repository}/pushed", $"t{n}", layers: 1, layerSize: 256));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                Interlocked.Increment(ref PushFailures);
                FailedPushTags.Add($"{_repository}/pushed:t{n}");
            }
            n++;
            await Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    private async Task PostLoopAsync()
    {
        var n = 0;
        while (!_stop.IsCancellationRequested)
        {
            var image = _seeds[n++ % _seeds.Count];
            var id = Guid.NewGuid().ToString();
            Tried[id] = 0;
            var body = Envelope(id, image, _product);
            while (true)
            {
                if (await TryPostAsync(body))
                {
                    Acknowledged[id] = 0;
                    break;
                }
                if (_sinceStop.IsRunning && _sinceStop.Elapsed > GiveUpAfterStop)
                    return;
                await Task.Delay(250);
            }
            await Delay(TimeSpan.FromMilliseconds(80));
        }
    }

    private async Task<bool> TryPostAsync(byte[] body)
    {
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.docker.distribution.events.v1+json");
            using var response = await _listener.PostAsync("/v1/events", content);
            if (response.IsSuccessStatusCode)
                return true;
            RefusedByStatus.AddOrUpdate((int)response.StatusCode, 1, (_, count) => count + 1);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref PostFailures);
        }
        return false;
    }

    public static byte[] Envelope(string id, PushedImage image, FaultyProduct product)
    {
        var envelope = new
        {
            events = new[]
            {
                new
                {
                    id,
                    timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                    action = "push",
                    target = new
                    {
                        mediaType = image.MediaType, digest = image.Digest, size = 400, length = 400, repository = image.Repository,
                        url = $"{product.Stack.RegistryUri}v2/{image.Repository}/manifests/{image.Digest}",
                    },
                    request = new { id = Guid.NewGuid().ToString(), addr = "127.0.0.1:1", host = product.Stack.RegistryUri.Authority, method = "PUT", useragent = "fault-driver" },
                    actor = new { },
                    source = new { addr = "driver:0", instanceID = product.RegistryInstanceId },
                },
            },
        };
        return Encoding.UTF8.GetBytes(JsonSerializer.Serialize(envelope));
    }

    private async Task Delay(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Polls a service's /healthz/ready during a scenario: was it ever not ready, and when was it ready again.</summary>
public sealed class ReadinessWatch : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public ReadinessWatch(Uri service)
    {
        _http = new HttpClient { BaseAddress = service, Timeout = TimeSpan.FromSeconds(2) };
        _loop = Task.Run(LoopAsync);
    }

    public TimeSpan? FirstNotReady { get; private set; }
    public TimeSpan? ReadyAgain { get; private set; }
    public bool Ready { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _http.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            bool ready;
            try
            {
                using var response = await _http.GetAsync("/healthz/ready", _stop.Token);
                ready = response.IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                ready = false;
            }
            if (_stop.IsCancellationRequested)
                return;
            if (!ready && FirstNotReady is null)
                FirstNotReady = _clock.Elapsed;
            if (ready && FirstNotReady is not null && ReadyAgain is null)
                ReadyAgain = _clock.Elapsed;
            Ready = ready;
            try
            {
                await Task.Delay(100, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
