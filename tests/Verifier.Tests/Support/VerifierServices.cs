using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Support;

/// <summary>The Verifier's verification services (<see cref="VerificationServiceExtensions.AddVerification"/>) as the service composes them.</summary>
public static class VerifierServices
{
    /// <param name="registry">Replaces the socket handler under the registry client (and the token client): a fake registry.</param>
    public static ServiceProvider Create(
        IDictionary<string, string?> configuration, HttpMessageHandler? registry = null, TimeProvider? time = null, ILoggerProvider? logs = null,
        Action<IServiceCollection>? configure = null, bool shippedRetryBackOff = false)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Debug);
            if (logs is not null)
                logging.AddProvider(logs);
        });
        if (time is not null)
            services.AddSingleton(time);
        services.AddVerification();
        if (registry is not null)
        {
            services.AddHttpClient<RegistryClient>().ConfigurePrimaryHttpMessageHandler(() => registry);
            services.AddHttpClient(RegistryAuthenticator.TokenClientName).ConfigurePrimaryHttpMessageHandler(() => registry);
        }
        configure?.Invoke(services);
        // Retries keep their number but not their back-off, so failure cases stay quick, and never wait on a fake clock.
        if (!shippedRetryBackOff)
            services.PostConfigureAll<HttpStandardResilienceOptions>(options => options.Retry.Delay = TimeSpan.Zero);
        return services.BuildServiceProvider();
    }

    public static Dictionary<string, string?> Configuration(Uri registry, params (string Key, string? Value)[] settings)
    {
        var configuration = new Dictionary<string, string?> { ["Registry:BaseUrl"] = registry.ToString() };
        foreach (var (key, value) in settings)
            configuration[$"Registry:{key}"] = value;
        return configuration;
    }
}

/// <summary>Keeps every log line, to show what was and was not logged.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public string Text => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
