using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Faults.Tests;

/// <summary>
/// Events whose fields point somewhere else: the Listener must only quarantine or translate them,
/// and the Verifier must only ever talk to the registry it was configured with.
/// </summary>
public sealed class Receiving_hostile_events(FaultyProduct product) : IClassFixture<FaultyProduct>
{
    [Fact]
    public async Task Forged_urls_hosts_and_repository_names_reach_no_other_host()
    {
        using var decoy = new ConnectionCounter();
        var decoyHost = $"127.0.0.1:{decoy.Port}";
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("hostile/app", "v1", layers: 1, layerSize: 256);
        var quarantinedBefore = await product.QueueDepthAsync("registry-integrity-quarantine");

        // A valid event whose url, host and source all name the decoy: walked, but against the configured registry.
        var forgedId = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.OK, await PostAsync(Envelope(forgedId, "hostile/app", image.Digest, $"http://{decoyHost}/v2/hostile/app/manifests/{image.Digest}", decoyHost)));
        // distribution's grammar accepts a first component that looks like a host ("127.0.0.1:port/app"): such an
        // event is valid and walked, as a path on the configured registry, never as a host.
        Assert.Equal(HttpStatusCode.OK, await PostAsync(Envelope(Guid.NewGuid().ToString(), $"{decoyHost}/app", image.Digest, $"http://{decoyHost}/v2/app/manifests/{image.Digest}", decoyHost)));

        string[] hostileRepositories =
        [
            "hostile/../app", "hostile/..", "hostile%2fapp", "hostile/app%2f..%2f..", "user@127.0.0.1/app",
            "hostile/app#fragment", "hostile/app\nHost: evil", "hostile/app\r\nX-Injected: 1", "/hostile/app", "http://evil/app",
        ];
        var hostileIds = new List<string>();
        foreach (var repository in hostileRepositories)
        {
            var id = Guid.NewGuid().ToString();
            hostileIds.Add(id);
            var url = $"http://{decoyHost}/v2/{Uri.EscapeDataString(repository)}/manifests/{image.Digest}";
            Assert.Equal(HttpStatusCode.OK, await PostAsync(Envelope(id, repository, image.Digest, url, decoyHost)));
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await product.ProcessedEventIdsAsync()).Contains(forgedId))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the forged but valid event was never processed\n{product.Verifier.Output}");
            await Task.Delay(200);
        }
        // Anything the hostile events could have started has had time to reach the decoy.
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(0, decoy.Connections);
        Assert.Equal("healthy", (await product.VerdictsAsync())[("hostile/app", image.Digest)]);
        Assert.Empty(hostileIds.Intersect(await product.ProcessedEventIdsAsync()));
        Assert.Equal(quarantinedBefore + (uint)hostileRepositories.Length, await product.QueueDepthAsync("registry-integrity-quarantine"));
        var repositories = (await product.VerdictsAsync()).Keys.Select(k => k.Repository).ToHashSet();
        Assert.DoesNotContain(repositories, r => r.Contains("..", StringComparison.Ordinal) || r.Contains('%', StringComparison.Ordinal) || r.Contains('@', StringComparison.Ordinal) || r.Contains('\n', StringComparison.Ordinal));
    }

    private async Task<HttpStatusCode> PostAsync(byte[] body)
    {
        using var http = new HttpClient { BaseAddress = product.ListenerBase };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", product.WebhookToken);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.docker.distribution.events.v1+json");
        using var response = await http.PostAsync("/v1/events", content);
        return response.StatusCode;
    }

    private byte[] Envelope(string id, string repository, string digest, string url, string host) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        events = new[]
        {
            new
            {
                id,
                timestamp = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                action = "push",
                target = new { mediaType = MediaTypes.OciManifest, digest, size = 400, repository, url },
                request = new { id = Guid.NewGuid().ToString(), addr = host, host, method = "PUT", useragent = "hostile" },
                actor = new { name = $"admin@{host}" },
                source = new { addr = host, instanceID = product.RegistryInstanceId },
            },
        },
    }));
}

/// <summary>A loopback port that counts every connection made to it and answers nothing.</summary>
public sealed class ConnectionCounter : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private int _connections;

    public ConnectionCounter()
    {
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections => Volatile.Read(ref _connections);

    public void Dispose() => _listener.Stop();

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                using var client = await _listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref _connections);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }
}
