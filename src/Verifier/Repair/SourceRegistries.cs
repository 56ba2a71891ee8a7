using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>
/// One configured source, reached through the Verifier's own registry client and handlers (credentials,
/// token flow, CA bundle, redirects without the Authorization header), built for the source's settings.
/// </summary>
public sealed class SourceRegistry : IDisposable
{
    private readonly HttpMessageHandler _primary;

    internal SourceRegistry(RepairSource source, RegistryMetrics metrics, TimeProvider time, ILoggerFactory logs)
    {
        Source = source;
        var options = Options.Create<RegistryOptions>(source);
        _primary = RegistryServiceExtensions.CreatePrimaryHandler(options.Value);
        var authenticator = new RegistryAuthenticator(new TokenClients(_primary, source.RequestTimeout), new RegistryCredentials(options), options, time,
            logs.CreateLogger<RegistryAuthenticator>());
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new HttpRetryStrategyOptions { MaxRetryAttempts = 2, Delay = TimeSpan.FromMilliseconds(200) })
            .AddTimeout(source.RequestTimeout)
            .Build();
        // Outermost first, as for the registry: retries and per-attempt timeout, then authentication, then the socket handler.
        var handlers = new ResilienceHandler(pipeline) { InnerHandler = new RegistryAuthenticationHandler(authenticator, options) { InnerHandler = _primary } };
        var baseUrl = source.BaseUrl!.AbsoluteUri;
        Http = new HttpClient(handlers) { BaseAddress = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/"), Timeout = Timeout.InfiniteTimeSpan };
        Client = new RegistryClient(Http, options, metrics);
    }

    public RepairSource Source { get; }

    public string Name => Source.DisplayName;

    /// <summary>Manifests by digest (checked against it) and blob checks.</summary>
    public RegistryClient Client { get; }

    /// <summary>For streaming blobs, through the same handlers.</summary>
    public HttpClient Http { get; }

    public void Dispose() => Http.Dispose();

    /// <summary>The token realm is reached through the source's own socket handler (its CA bundle), never the registry's.</summary>
    private sealed class TokenClients(HttpMessageHandler primary, TimeSpan timeout) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(primary, disposeHandler: false) { Timeout = timeout };
    }
}

/// <summary>The configured sources, built once; empty when <c>Repair:Sources</c> is not set.</summary>
public sealed class SourceRegistries(IOptions<RepairOptions> options, RegistryMetrics metrics, TimeProvider time, ILoggerFactory logs) : IDisposable
{
    private readonly Lazy<IReadOnlyList<SourceRegistry>> _sources = new(() =>
        [.. options.Value.Sources.Select(s => new SourceRegistry(s, metrics, time, logs))]);

    public IReadOnlyList<SourceRegistry> All => _sources.Value;

    public void Dispose()
    {
        if (_sources.IsValueCreated)
        {
            foreach (var source in _sources.Value)
                source.Dispose();
        }
    }
}
