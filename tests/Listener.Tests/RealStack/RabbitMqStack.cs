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
