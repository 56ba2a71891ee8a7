using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The Verifier connects to the registry, the broker and its store, and to nothing else: no vendor
/// telemetry. MassTransit reports usage 5 minutes after the bus starts (at least 30 s); the test
/// shortens the delay to those 30 s and waits past it, so that a report would happen within the test.
/// In process (the runtime's connection events are per process), here rather than in Verifier.Tests for the
/// reason given on <see cref="Guarding_the_verifier_api"/>.
/// </summary>
public sealed class Contacting_only_the_registry_and_the_broker : IAsyncLifetime
{
    private static readonly TimeSpan TelemetryDelay = TimeSpan.FromSeconds(30);
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"verifier-outbound-{Guid.NewGuid():N}.db");
    private LocalStack _stack = null!;

    public async Task InitializeAsync() => _stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry);

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        File.Delete(_database);
    }

    [Fact]
    public async Task A_sweep_and_a_wait_past_the_telemetry_delay_contact_nothing_else()
    {
        using (var pusher = new RegistryPusher(_stack.RegistryUri))
            await pusher.PushImageAsync("outbound/app", "v1");
        using var connections = new OutboundConnections();
        var app = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", _stack.RabbitMqUri.ToString());
            builder.UseSetting("Registry:BaseUrl", _stack.RegistryUri.ToString());
            builder.UseSetting("Store:ConnectionString", $"Data Source={_database}");
            builder.UseSetting("Sweep:Enabled", "false");
            builder.ConfigureTestServices(services => services.Configure<UsageTelemetryOptions>(options => options.ReportDelay = TelemetryDelay));
        });
        try
        {
            using var http = app.CreateClient();
            var started = DateTime.UtcNow;
            var sweep = await (await http.PostAsync("/v1/sweeps", null)).Content.ReadFromJsonAsync<JsonElement>();
            var id = sweep.GetProperty("id").GetString();
            var status = "";
            while (status != "completed" && DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(250);
                var response = await http.GetAsync($"/v1/sweeps/{id}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                status = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString();
            }
            Assert.Equal("completed", status);
            var rest = TelemetryDelay + TimeSpan.FromSeconds(5) - (DateTime.UtcNow - started);
            if (rest > TimeSpan.Zero)
                await Task.Delay(rest);
        }
        finally
        {
            await app.DisposeAsync();
        }

        Assert.Contains(connections.Loopback, endPoint => endPoint.Port == _stack.RegistryPort);
        Assert.Contains(connections.Loopback, endPoint => endPoint.Port == _stack.RabbitMqPort);
        Assert.True(connections.Elsewhere.Count == 0, string.Join("; ", connections.Elsewhere));
    }
}
