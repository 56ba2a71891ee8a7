using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>A Listener on real Kestrel (no broker needed) with small limits, probed over raw TCP.</summary>
public sealed class GuardedListener : IAsyncLifetime
{
    public const int MaxConnections = 4;
    public static readonly TimeSpan BodyTimeout = TimeSpan.FromSeconds(1);

    public KestrelListener Listener { get; } = new(new Uri("amqp://guest:guest@127.0.0.1:1/"), settings: new Dictionary<string, string>
    {
        ["Listener:RequestBodyTimeout"] = BodyTimeout.ToString(),
        ["Listener:MaxConcurrentConnections"] = MaxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    public Task InitializeAsync()
    {
        Listener.StartServer();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Listener.DisposeAsync();
}

public class Guarding_the_endpoint(GuardedListener guarded) : IClassFixture<GuardedListener>
{
    private KestrelListener Listener => guarded.Listener;

    [Fact]
    public async Task A_body_that_stalls_is_answered_408_after_the_body_timeout()
    {
        using var socket = await ConnectAsync();
        var clock = Stopwatch.StartNew();
        await SendAsync(socket,
            "POST /v1/events HTTP/1.1\r\nHost: listener\r\n" +
            $"Authorization: Bearer {KestrelListener.Token}\r\n" +
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"events\":[");

        var answer = await ReadAnswerAsync(socket, TimeSpan.FromSeconds(10));

        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, GuardedListener.BodyTimeout, GuardedListener.BodyTimeout + TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Too_many_headers_are_answered_431()
    {
        using var socket = await ConnectAsync();
        var headers = string.Concat(Enumerable.Range(0, 100).Select(i => $"X-Header-{i}: {i}\r\n"));
        await SendAsync(socket, $"POST /v1/events HTTP/1.1\r\nHost: listener\r\n{headers}Content-Length: 0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 431", await ReadAnswerAsync(socket, TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_line_over_4_KiB_is_answered_414()
    {
        using var socket = await ConnectAsync();
        await SendAsync(socket, $"POST /v1/events?{new string('a', 5000)} HTTP/1.1\r\nHost: listener\r\nContent-Length: 0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 414", await ReadAnswerAsync(socket, TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_refused_until_one_closes()
    {
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < GuardedListener.MaxConnections; i++)
            {
                var socket = await ConnectAsync();
                held.Add(socket);
                // Half a request line: Kestrel now holds this connection open.
                await SendAsync(socket, "GET /healthz/live HTTP/1.1\r\n");
            }

            using (var extra = await ConnectAsync())
            {
                await SendAsync(extra, "GET /healthz/live HTTP/1.1\r\nHost: listener\r\n\r\n");
                Assert.Equal("", await ReadAnswerAsync(extra, TimeSpan.FromSeconds(10)));
            }

            held[0].Dispose();
            held.RemoveAt(0);
            using var http = new HttpClient { BaseAddress = Listener.BaseUri };
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                try
                {
                    Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/healthz/live")).StatusCode);
                    break;
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                    // Kestrel frees the slot once it notices the close.
                    await Task.Delay(100);
                }
            }
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, Listener.Port);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text));

    /// <summary>What the server sends until it closes the connection or <paramref name="within"/> is over ("" when it closed at once).</summary>
    private static async Task<string> ReadAnswerAsync(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (read == 0)
                    break;
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
                if (answer.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    break;
            }
        }
        catch (SocketException)
        {
            // Reset by the server: what arrived before is the answer.
        }
        catch (OperationCanceledException)
        {
            answer.Append("[nothing more, connection still open]");
        }
        return answer.ToString();
    }
}
