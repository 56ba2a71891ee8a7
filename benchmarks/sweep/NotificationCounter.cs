using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace RegistryIntegrity.Benchmarks.Sweep;

/// <summary>
/// Stands where the registry sends its notifications and counts what arrives: POSTs and events by
/// action. Answers 200 to everything. It is not the product's Listener, only a counter.
/// </summary>
internal sealed class NotificationCounter : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, int> _actions = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private int _posts;

    public NotificationCounter(Uri endpoint)
    {
        _listener.Prefixes.Add($"http://{endpoint.Host}:{endpoint.Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Posts => Volatile.Read(ref _posts);

    public string Actions => _actions.IsEmpty ? "none" : string.Join(", ", _actions.OrderBy(a => a.Key).Select(a => $"{a.Key} {a.Value}"));

    private async Task ServeAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            Interlocked.Increment(ref _posts);
            try
            {
                using var body = await JsonDocument.ParseAsync(context.Request.InputStream);
                foreach (var e in body.RootElement.GetProperty("events").EnumerateArray())
                    _actions.AddOrUpdate(e.GetProperty("action").GetString() ?? "?", 1, (_, n) => n + 1);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                _actions.AddOrUpdate("unreadable", 1, (_, n) => n + 1);
            }
            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
