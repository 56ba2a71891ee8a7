using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The whole product, really started: registry 2.8.2 notifies the Listener process, which sends
/// through RabbitMQ to the Verifier process, which walks the registry and stores the verdict in SQLite.
/// </summary>
public sealed class Pushing_an_image : IAsyncLifetime
{
    private const string Token = "e2e-webhook-token-0123456789";
    private LocalStack _stack = null!;
    private ServiceProcess _listener = null!;
    private ServiceProcess _verifier = null!;
    private string _dataDir = null!;

    public async Task InitializeAsync()
    {
        // The registry needs the Listener's URL in its config, so the Listener's port is chosen first.
        var listenerPort = LocalStack.GetFreeTcpPorts(1)[0];
        _stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry, $"http://127.0.0.1:{listenerPort}/v1/events", Token);
        _dataDir = Directory.CreateTempSubdirectory("rit-e2e-").FullName;
        _verifier = await ServiceProcess.StartAsync("Verifier", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = _stack.RabbitMqUri.ToString(),
            ["Registry__BaseUrl"] = _stack.RegistryUri.ToString(),
            ["Store__ConnectionString"] = $"Data Source={Path.Combine(_dataDir, "verifier.db")}",
        });
        _listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = _stack.RabbitMqUri.ToString(),
            ["Listener__BearerTokens__0"] = Token,
        }, fixedPort: listenerPort);
    }

    public async Task DisposeAsync()
    {
        await _listener.DisposeAsync();
        await _verifier.DisposeAsync();
        await _stack.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task Is_verified_healthy_and_a_deleted_layer_makes_it_broken_naming_the_layer()
    {
        using var registry = new RegistryPusher(_stack.RegistryUri);
        var image = await registry.PushImageAsync("e2e/app", "v1", layers: 2);

        var healthy = await WaitForVerdictAsync(image.Repository, image.Digest, "healthy");
        Assert.Equal(["v1"], healthy.GetProperty("manifest").GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var layer = image.LayerDigests[1];
        await registry.DeleteBlobAsync(image.Repository, layer);

        var broken = await WaitForVerdictAsync(image.Repository, image.Digest, "broken");
        var missing = broken.GetProperty("manifest").GetProperty("missing").EnumerateArray().Single();
        Assert.Equal(layer, missing.GetProperty("digest").GetString());
        Assert.Equal("layer", missing.GetProperty("kind").GetString());
        Assert.Equal(404, missing.GetProperty("statusCode").GetInt32());
    }

    private async Task<JsonElement> WaitForVerdictAsync(string repository, string digest, string result)
    {
        using var http = new HttpClient { BaseAddress = _verifier.BaseUri };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var response = await http.GetAsync($"/v1/manifests?repository={repository}&digest={digest}");
            if (response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                last = body.ToString();
                if (body.GetProperty("manifest").GetProperty("result").GetString() == result)
                    return body;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"No {result} verdict for {repository}@{digest} within 30 s. Last: {last}\n--- listener ---\n{_listener.Output}\n--- verifier ---\n{_verifier.Output}");
    }
}
