using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>One real RabbitMQ and one Listener on Kestrel, shared by a test class.</summary>
public sealed class RabbitMqStack : IAsyncLifetime
{
    public const int QuarantineMaxMessages = 5;
    public const int QuarantineMaxBodyBytes = 1024;
    public static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(1);

    public LocalStack Stack { get; private set; } = null!;

    public KestrelListener Listener { get; private set; } = null!;

    public Uri RabbitMqUri => Stack.RabbitMqUri;

    public async Task InitializeAsync()
    {
        Stack = await LocalStack.StartAsync(StackServices.RabbitMq);
        Listener = StartListener();
        await WaitUntilReadyAsync(Listener, TimeSpan.FromSeconds(30));
        await PayFirstSendAsync(Listener, TimeSpan.FromSeconds(30));
        await Broker.DrainAsync(RabbitMqUri, Contracts.QueueNames.RegistryEvents);
    }

    public KestrelListener StartListener()
    {
        var listener = new KestrelListener(Stack.RabbitMqUri, settings: new Dictionary<string, string>
        {
            ["Listener:PublishTimeout"] = PublishTimeout.ToString(),
            ["Listener:Quarantine:MaxMessages"] = QuarantineMaxMessages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Listener:Quarantine:MaxBodyBytes"] = QuarantineMaxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        listener.StartServer();
        return listener;
    }

    public static async Task WaitUntilReadyAsync(KestrelListener listener, TimeSpan within) =>
        await WaitForReadinessAsync(listener, System.Net.HttpStatusCode.OK, within);

    /// <summary>
    /// A new Listener's first send declares MassTransit's send path: on a loaded machine it can outlast the publish
    /// timeout (503, and the registry sends again). Paid here with one event, so tests of a single send are only about it.
    /// </summary>
    public static async Task PayFirstSendAsync(KestrelListener listener, TimeSpan within)
    {
        using var client = listener.CreateAuthorizedHttpClient();
        var deadline = DateTime.UtcNow + within;
        var last = System.Net.HttpStatusCode.NotFound;
        while (DateTime.UtcNow < deadline)
        {
            using var content = new ByteArrayContent(Fixtures.RegistryFixtures.Body("manifest-push-by-tag"));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.docker.distribution.events.v1+json");
            last = (await client.PostAsync("/v1/events", content)).StatusCode;
            if (last == System.Net.HttpStatusCode.OK)
                return;
            await Task.Delay(500);
        }
        throw new TimeoutException($"The Listener answered {(int)last} to every event for {within.TotalSeconds} s.");
    }

    public static async Task WaitForReadinessAsync(KestrelListener listener, System.Net.HttpStatusCode expected, TimeSpan within)
    {
        using var http = new HttpClient { BaseAddress = listener.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + within;
        var last = System.Net.HttpStatusCode.NotFound;
        while (DateTime.UtcNow < deadline)
        {
            last = (await http.GetAsync("/healthz/ready")).StatusCode;
            if (last == expected)
                return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"/healthz/ready answered {(int)last}, not {(int)expected}, for {within.TotalSeconds} s.");
    }

    public async Task DisposeAsync()
    {
        if (Listener is not null)
            await Listener.DisposeAsync();
        if (Stack is not null)
            await Stack.DisposeAsync();
    }
}
