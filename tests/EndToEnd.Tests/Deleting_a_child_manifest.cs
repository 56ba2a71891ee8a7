using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using RegistryIntegrity.TestSupport;
using Xunit.Abstractions;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The whole product, really started (registry 2.8.2 -> Listener process -> RabbitMQ -> Verifier
/// process): deleting one child of a tagged multi-arch index flags the index within 2 s of the
/// registry's delete event.
/// </summary>
public sealed class Deleting_a_child_manifest(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "e2e-delete-webhook-token-0123456789";
    private LocalStack _stack = null!;
    private ServiceProcess _listener = null!;
    private ServiceProcess _verifier = null!;
    private string _dataDir = null!;
    private string _database = null!;

    public async Task InitializeAsync()
    {
        var listenerPort = LocalStack.GetFreeTcpPorts(1)[0];
        _stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry, $"http://127.0.0.1:{listenerPort}/v1/events", Token);
        _dataDir = Directory.CreateTempSubdirectory("rit-e2e-delete-").FullName;
        _database = Path.Combine(_dataDir, "verifier.db");
        _verifier = await ServiceProcess.StartAsync("Verifier", new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = _stack.RabbitMqUri.ToString(),
            ["Registry__BaseUrl"] = _stack.RegistryUri.ToString(),
            ["Store__ConnectionString"] = $"Data Source={_database}",
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
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task Flags_the_tagged_index_broken_naming_the_child_within_2_seconds_of_the_delete_event()
    {
        using var registry = new RegistryPusher(_stack.RegistryUri);
        var index = await registry.PushIndexAsync("e2e/multiarch", "v1", ["linux/amd64", "linux/arm64"], withAttestation: true);
        await WaitForVerdictAsync(index.Repository, index.Digest, "healthy");
        var child = index.Children.First(c => c.Platform == "linux/arm64");

        await registry.DeleteManifestAsync(index.Repository, child.Digest);
        var broken = (await WaitForVerdictAsync(index.Repository, index.Digest, "broken")).GetProperty("manifest");

        var missing = broken.GetProperty("missing").EnumerateArray().Single();
        Assert.Equal(child.Digest, missing.GetProperty("digest").GetString());
        Assert.Equal("child-manifest", missing.GetProperty("kind").GetString());
        Assert.Equal(["v1"], broken.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        // The registry's own timestamp of the delete event, as the Verifier stored it, against the verdict's.
        await using var connection = new SqliteConnection($"Data Source={_database};Mode=ReadOnly");
        var deletedAt = await connection.QuerySingleAsync<long>(
            "SELECT occurred_ms FROM processed_events WHERE message_type = 'DigestDeleted' AND payload LIKE @digest", new { digest = $"%{child.Digest}%" });
        var checkedAt = broken.GetProperty("checkedAt").GetDateTimeOffset().ToUnixTimeMilliseconds();
        output.WriteLine($"delete event -> broken verdict: {checkedAt - deletedAt} ms");
        Assert.InRange(checkedAt - deletedAt, 0, 2000);
    }

    private async Task<JsonElement> WaitForVerdictAsync(string repository, string digest, string result)
    {
        using var http = new HttpClient { BaseAddress = _verifier.BaseUri };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var last = "";
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
            await Task.Delay(20);
        }
        throw new TimeoutException($"No {result} verdict for {repository}@{digest} within 30 s. Last: {last}\n--- listener ---\n{_listener.Output}\n--- verifier ---\n{_verifier.Output}");
    }
}
