using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;

namespace RegistryIntegrity.Listener.Tests;

/// <summary>The Listener in memory with MassTransit's in-memory test harness in place of RabbitMQ (logic tests only).</summary>
public sealed class ListenerApp : WebApplicationFactory<Program>
{
    public const string Token = "test-token-0123456789";
    public const string RotatedToken = "test-token-rotated-9876543210";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
        builder.UseSetting("Listener:BearerTokens:0", Token);
        builder.UseSetting("Listener:BearerTokens:1", RotatedToken);
        builder.UseSetting("Listener:MaxBodyBytes", "65536");
        builder.ConfigureTestServices(services => services.AddMassTransitTestHarness());
    }

    public ITestHarness Harness => Services.GetTestHarness();

    public HttpClient CreateAuthorizedClient(string token = Token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
