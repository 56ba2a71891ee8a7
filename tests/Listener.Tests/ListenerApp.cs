using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RegistryIntegrity.Listener.Monitoring;
using RegistryIntegrity.Listener.Quarantine;

namespace RegistryIntegrity.Listener.Tests;

/// <summary>
/// The Listener in memory with MassTransit's in-memory test harness in place of RabbitMQ and a
/// recording quarantine (logic tests only; Sending_to_RabbitMQ covers the real broker).
/// </summary>
public sealed class ListenerApp : WebApplicationFactory<Program>
{
    public const string Token = "test-token-0123456789";
    public const string RotatedToken = "test-token-rotated-9876543210";
    public const string BasicUser = "registry";
    public const string BasicPassword = "basic-password-0123456789";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
        builder.UseSetting("Listener:BearerTokens:0", Token);
        builder.UseSetting("Listener:BearerTokens:1", RotatedToken);
        builder.UseSetting("Listener:BasicCredentials:0:Username", BasicUser);
        builder.UseSetting("Listener:BasicCredentials:0:Password", BasicPassword);
        builder.UseSetting("Listener:MaxBodyBytes", "65536");
        builder.UseSetting("Logging:LogLevel:RegistryIntegrity", "Debug");
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.ConfigureTestServices(services =>
        {
            services.AddMassTransitTestHarness();
            services.AddSingleton<RecordingQuarantine>();
            services.AddSingleton<IQuarantine>(provider => provider.GetRequiredService<RecordingQuarantine>());
        });
    }

    public LogCapture Logs { get; } = new();

    public ITestHarness Harness => Services.GetTestHarness();

    public RecordingQuarantine Quarantine => Services.GetRequiredService<RecordingQuarantine>();

    public ListenerMetrics Metrics => Services.GetRequiredService<ListenerMetrics>();

    public HttpClient CreateAuthorizedClient(string token = Token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}

/// <summary>Keeps the last quarantined notifications in memory, and how many there were.</summary>
public sealed class RecordingQuarantine : IQuarantine
{
    private const int Kept = 100;
    private readonly Queue<QuarantinedNotification> _recent = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>When set, every put fails as a broker outage would.</summary>
    public Exception? FailWith { get; set; }

    public IReadOnlyList<QuarantinedNotification> Recent
    {
        get
        {
            lock (_recent)
                return [.. _recent];
        }
    }

    public Task PutAsync(QuarantinedNotification notification, CancellationToken cancellationToken)
    {
        if (FailWith is { } failure)
            return Task.FromException(failure);
        lock (_recent)
        {
            _recent.Enqueue(notification);
            if (_recent.Count > Kept)
                _recent.Dequeue();
        }
        Interlocked.Increment(ref _count);
        return Task.CompletedTask;
    }
}
