using Polly;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.Registry;

public static class RegistryServiceExtensions
{
    /// <summary>The registry client with its options, credentials, token client, request budget and resilience pipeline.</summary>
    public static IServiceCollection AddRegistryClient(this IServiceCollection services)
    {
        services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<RegistryOptions>, RegistryOptionsValidator>();
        services.AddSystemTime();
        services.AddVerifierMetricsRegistry();
        services.AddSingleton<RegistryMetrics>();
        services.AddSingleton<RegistryCredentials>();
        services.AddSingleton<RegistryAuthenticator>();
        services.AddSingleton<RequestBudget>();
        services.AddTransient<RegistryAuthenticationHandler>();
        services.AddTransient<RequestBudgetHandler>();
        services.AddSingleton<RegistryAvailability>();
        services.AddTransient<RegistryAvailabilityHandler>();

        services.AddHttpClient(RegistryAuthenticator.TokenClientName, (provider, http) =>
                http.Timeout = provider.GetRequiredService<IOptions<RegistryOptions>>().Value.RequestTimeout)
            .ConfigurePrimaryHttpMessageHandler(provider => CreatePrimaryHandler(provider.GetRequiredService<IOptions<RegistryOptions>>().Value));

        // Outermost first: the request budget (waiting for it is not a timeout), the standard resilience
        // pipeline (concurrency limit, timeouts, retries, circuit breaker), authentication (each attempt
        // carries a current token), the availability record (each attempt counts), then the socket handler, which follows blob redirects without
        // forwarding the Authorization header.
        var registry = services.AddHttpClient<RegistryClient>((provider, http) =>
            {
                var options = provider.GetRequiredService<IOptions<RegistryOptions>>().Value;
                http.BaseAddress = EnsureTrailingSlash(options.BaseUrl!);
                http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns timeouts
            })
            .ConfigurePrimaryHttpMessageHandler(provider => CreatePrimaryHandler(provider.GetRequiredService<IOptions<RegistryOptions>>().Value))
            .AddHttpMessageHandler<RequestBudgetHandler>();
        registry.AddStandardResilienceHandler()
            .Configure((resilience, provider) =>
            {
                var options = provider.GetRequiredService<IOptions<RegistryOptions>>().Value;
                resilience.RateLimiter.DefaultRateLimiterOptions.PermitLimit = options.MaxConcurrency;
                resilience.RateLimiter.DefaultRateLimiterOptions.QueueLimit = 100_000;
                resilience.AttemptTimeout.Timeout = options.RequestTimeout;
                resilience.TotalRequestTimeout.Timeout = options.RequestTimeout * 4;
                resilience.CircuitBreaker.SamplingDuration = options.RequestTimeout * 2;
                var retried = resilience.Retry.ShouldHandle;
                resilience.Retry.ShouldHandle = arguments =>
                    arguments.Context.GetRequestMessage()?.Options.TryGetValue(RegistryClient.SingleAttempt, out var single) == true && single
                        ? ValueTask.FromResult(false)
                        : retried(arguments);
            });
        registry.AddHttpMessageHandler<RegistryAuthenticationHandler>()
            .AddHttpMessageHandler<RegistryAvailabilityHandler>();
        return services;
    }

    internal static SocketsHttpHandler CreatePrimaryHandler(RegistryOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // .NET drops the Authorization header when it follows a redirect, so a signed blob URL never sees the credentials.
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (options.CaCertificateFile is { } bundle)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(bundle);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, presented, errors) =>
                TrustedByBundle(roots, certificate, presented, errors);
        }
        return handler;
    }

    /// <summary>The certificate must chain to the bundle (and only to it) and match the host name.</summary>
    private static bool TrustedByBundle(X509Certificate2Collection roots, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private static Uri EnsureTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
