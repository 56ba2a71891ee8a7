using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using RegistryIntegrity.Listener.Tests.Fixtures;
using RegistryIntegrity.TestSupport;
using Xunit.Abstractions;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>
/// The Listener as a process of its own (the test holds 10 000 sockets, the Listener as many: one
/// process would pass its file limit), with its management port, on a real RabbitMQ.
/// </summary>
public sealed class ListenerWithManagementPort : IAsyncLifetime
{
    public const string Token = "management-port-token-0123456789";

    public LocalStack Stack { get; private set; } = null!;

    public ServiceProcess Listener { get; private set; } = null!;

    public int Port => Listener.BaseUri.Port;

    public int ManagementPort => Listener.ManagementUri.Port;

    public async Task InitializeAsync()
    {
        Stack = await LocalStack.StartAsync(StackServices.RabbitMq);
        Listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = Stack.RabbitMqUri.ToString(),
            ["Listener__BearerTokens__0"] = Token,
            ["Management__Port"] = LocalStack.GetFreeTcpPorts(1)[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Idle sockets are held for the whole test, as by clients that reconnect as soon as they are closed.
            ["Listener__KeepAliveTimeout"] = "00:01:00",
            // What is measured is the connection handling, not the broker's latency on a busy machine.
            ["Listener__PublishTimeout"] = "00:00:05",
        });
    }

    public async Task DisposeAsync()
    {
        if (Listener is not null)
            await Listener.DisposeAsync();
        if (Stack is not null)
            await Stack.DisposeAsync();
    }
}

public class Holding_connections_open(ListenerWithManagementPort fixture, ITestOutputHelper output) : IClassFixture<ListenerWithManagementPort>
{
    private const int Held = 10_000;

    [Fact]
    public async Task Probes_and_metrics_are_served_only_on_the_management_port()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var main = fixture.Listener.BaseUri;
        var management = fixture.Listener.ManagementUri;

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(management, "/healthz/ready"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(management, "/healthz/live"))).StatusCode);
        Assert.Contains("registry_integrity_listener_events_total", await http.GetStringAsync(new Uri(management, "/metrics")), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(main, "/healthz/live"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(main, "/metrics"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(management)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(main)).StatusCode);
    }

    [Theory]
    [InlineData("management")]
    [InlineData("notification")]
    public async Task Ten_thousand_idle_or_slow_connections_do_not_stop_a_notification(string port)
    {
        var target = port == "management" ? fixture.ManagementPort : fixture.Port;
        var clock = Stopwatch.StartNew();
        var held = await HoldAsync(target, Held);
        try
        {
            var opened = clock.Elapsed;
            var answered = Stopwatch.StartNew();
            // As the registry does, a 503 (the broker slow to confirm on a busy machine) is retried; a
            // refused or unanswered connection is what the held sockets must never cause.
            var statuses = new List<HttpStatusCode>();
            while (statuses.Count < 3 && statuses.LastOrDefault() != HttpStatusCode.OK)
            {
                using var response = await PostAsync(fixture.Listener.BaseUri);
                statuses.Add(response.StatusCode);
            }
            answered.Stop();
            var stillOpen = held.Count(IsOpen);
            output.WriteLine($"{held.Count} sockets to the {port} port opened in {opened.TotalSeconds:0.0} s; notification answered {string.Join(", ", statuses.Select(s => (int)s))} " +
                $"in {answered.Elapsed.TotalMilliseconds:0} ms; {stillOpen} sockets still open after it; Listener {ResidentMemory(fixture.Listener.ProcessId)}");

            Assert.Equal(HttpStatusCode.OK, statuses[^1]);
            // The flood was real: the Listener still held (nearly) all of them while it answered.
            Assert.True(stillOpen >= Held * 9 / 10, $"only {stillOpen} of {Held} sockets were still open");
        }
        finally
        {
            foreach (var socket in held)
                socket.Dispose();
        }
    }

    /// <summary>Half the sockets send nothing, half the start of a request they never finish.</summary>
    private static async Task<List<Socket>> HoldAsync(int port, int count)
    {
        var sockets = new ConcurrentBag<Socket>();
        var slow = Encoding.ASCII.GetBytes("POST /v1/events HTTP/1.1\r\nHost: listener\r\n");
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            {
                // Closed with a reset: no TIME_WAIT is left to use up the machine's ephemeral ports.
                LingerState = new LingerOption(true, 0),
            };
            sockets.Add(socket);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            if (i % 2 == 1)
                await socket.SendAsync(slow, timeout.Token);
        });
        return [.. sockets];
    }

    /// <summary>Readable with nothing to read means the other side closed it.</summary>
    private static bool IsOpen(Socket socket)
    {
        try
        {
            return socket.Connected && !(socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(Uri listener)
    {
        const string fixtureName = "manifest-push-by-tag";
        var body = Encoding.UTF8.GetString(RegistryFixtures.Body(fixtureName))
            .Replace(RegistryFixtures.Event(fixtureName).Id!, Guid.NewGuid().ToString(), StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(listener, "/v1/events"))
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.docker.distribution.events.v1+json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ListenerWithManagementPort.Token);
        return await http.SendAsync(request);
    }

    private static string ResidentMemory(int processId)
    {
        var status = File.ReadAllLines($"/proc/{processId}/status");
        return string.Join(", ", status.Where(l => l.StartsWith("VmRSS", StringComparison.Ordinal) || l.StartsWith("VmHWM", StringComparison.Ordinal))
            .Select(l => string.Join(' ', l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))));
    }
}
