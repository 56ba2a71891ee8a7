using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RegistryIntegrity.Listener.Monitoring;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>The Listener as deployed (real Kestrel on a loopback port, real RabbitMQ), hosted in the test process.</summary>
public sealed class KestrelListener : WebApplicationFactory<Program>
{
    public const string Token = "real-stack-token-0123456789";

    private readonly Uri _rabbitMq;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly Action<IServiceCollection>? _services;

    public KestrelListener(Uri rabbitMq, int? port = null, IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    {
        _rabbitMq = rabbitMq;
        _settings = settings ?? new Dictionary<string, string>();
        _services = services;
        Port = port ?? TestSupport.LocalStack.GetFreeTcpPorts(1)[0];
        BaseUri = new Uri($"http://127.0.0.1:{Port}");
        // UseKestrel(port) would set the address after the host is built, racing the Listener's own RunAsync
        // (the minimal-hosting entry point keeps running and may start Kestrel first: "Addresses cannot be
        // modified after the server has started"). The URL is configuration instead, read before the start.
        UseKestrel();
    }

    public int Port { get; }

    public Uri BaseUri { get; }

    public LogCapture Logs { get; } = new();

    public ListenerMetrics Metrics => Services.GetRequiredService<ListenerMetrics>();

    public HttpClient CreateAuthorizedHttpClient()
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseUrls(BaseUri.ToString());
        builder.UseSetting("ConnectionStrings:RabbitMq", _rabbitMq.ToString());
        builder.UseSetting("Listener:BearerTokens:0", Token);
        builder.UseSetting("Logging:LogLevel:RegistryIntegrity", "Debug");
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        if (_services is not null)
            builder.ConfigureServices(_services);
    }
}
