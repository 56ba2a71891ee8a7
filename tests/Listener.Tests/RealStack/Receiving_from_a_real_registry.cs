using System.Net.Http.Headers;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Listener.Tests.RealStack;

/// <summary>Registry 2.8.2 (scripts/stack.sh's config: bearer token, pulls ignored) notifying the Listener on Kestrel.</summary>
public sealed class RegistryStack : IAsyncLifetime
{
    public LocalStack Stack { get; private set; } = null!;

    public KestrelListener Listener { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // The registry's config names the Listener's URL, so the Listener's port is chosen first.
        var port = LocalStack.GetFreeTcpPorts(1)[0];
        Stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry, $"http://127.0.0.1:{port}/v1/events", KestrelListener.Token);
        Listener = new KestrelListener(Stack.RabbitMqUri, port);
        Listener.StartServer();
        await RabbitMqStack.WaitUntilReadyAsync(Listener, TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        if (Listener is not null)
            await Listener.DisposeAsync();
        if (Stack is not null)
            await Stack.DisposeAsync();
    }
}

public class Receiving_from_a_real_registry(RegistryStack stack) : IClassFixture<RegistryStack>
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Pushing_an_image_and_a_multi_arch_index_yields_one_ManifestPushed_per_manifest_and_reads_yield_nothing()
    {
        using var registry = new RegistryPusher(stack.Stack.RegistryUri);
        var image = await registry.PushImageAsync("it/app", "v1");
        var index = await registry.PushIndexAsync("it/multi", "v2");

        List<(string Repository, string Digest, string? Tag)> expected =
        [
            (image.Repository, image.Digest, "v1"),
            .. index.Children.Select(c => (c.Repository, c.Digest, (string?)null)),
            (index.Repository, index.Digest, "v2"),
        ];
        Assert.Equal(4, index.Children.Count); // linux/amd64, linux/arm64 and an attestation manifest for each
        var received = await Broker.DrainUntilAsync(stack.Stack.RabbitMqUri, QueueNames.RegistryEvents, m => m.Count >= expected.Count, Within);
        var published = received.Select(Describe).ToList();
        Assert.All(received, m => Assert.Equal("urn:message:RegistryIntegrity.Contracts:ManifestPushed", m.MessageType));
        Assert.Equal(expected.OrderBy(e => e.Digest), published.OrderBy(e => e.Digest));
        Assert.Equal(received.Count, received.Select(m => m.MessageId).Distinct().Count());
        Assert.True(stack.Listener.Metrics.Events.WithLabels("push", "ignored").Value > 0, "The layer and config blob pushes did not reach the Listener.");

        // Reads of every manifest, by digest and by tag, GET and HEAD: the registry's config ignores pulls.
        using var http = new HttpClient { BaseAddress = stack.Stack.RegistryUri };
        foreach (var (repository, digest, tag) in expected)
        {
            foreach (var reference in new[] { digest, tag }.OfType<string>())
            {
                foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
                {
                    using var request = new HttpRequestMessage(method, $"/v2/{repository}/manifests/{reference}");
                    foreach (var mediaType in MediaTypes.AllManifests)
                        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
                    using var response = await http.SendAsync(request);
                    response.EnsureSuccessStatusCode();
                }
            }
        }

        // The registry delivers in order: once the marker's event is here, any pull event would be too.
        var marker = await registry.PushImageAsync("it/marker", "after-reads", layers: 1);
        var afterReads = await Broker.DrainUntilAsync(stack.Stack.RabbitMqUri, QueueNames.RegistryEvents,
            m => m.Any(x => Describe(x).Digest == marker.Digest), Within);

        Assert.Equal([(marker.Repository, marker.Digest, "after-reads")], afterReads.Select(Describe));
        // No pull ever reached the Listener: the series does not even exist.
        using var listener = stack.Listener.CreateAuthorizedHttpClient();
        Assert.DoesNotContain("action=\"pull\"", await listener.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    private static (string Repository, string Digest, string? Tag) Describe(QueuedMessage message)
    {
        var body = message.Message;
        return (body.GetProperty("repository").GetString()!, body.GetProperty("digest").GetString()!,
            body.TryGetProperty("tag", out var tag) ? tag.GetString() : null);
    }
}
