using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MassTransit;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Npgsql;
using Prometheus;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Contracts.Settings;
using RegistryIntegrity.Contracts.Hosting;
using RegistryIntegrity.Verifier.Api;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Consumers;
using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Storage;
using RegistryIntegrity.Verifier.Storage.Dapper;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier;

public static class VerifierServiceExtensions
{
    /// <summary>The long-running service: consumers, store, metrics, status API. Throws <see cref="SettingsException"/> (one line per bad setting) before anything starts.</summary>
    public static WebApplicationBuilder AddVerifierServices(this WebApplicationBuilder builder, TextWriter? warnings = null)
    {
        foreach (var warning in VerifierSettings.Check(builder.Configuration, VerifierParts.Service))
            (warnings ?? Console.Error).WriteLine($"warning: {warning}");
        builder.AddManagementPort();
        builder.Services.AddVerification();
        builder.Services.AddDapperRepositories();
        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        builder.Services.AddSingleton<ApiTokens>();
        builder.Services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: ["ready"]);

        var rabbitMq = new Uri(builder.Configuration.GetConnectionString("RabbitMq")!);
        var quorumQueues = builder.Configuration.GetValue<bool>(QueueNames.QuorumQueuesKey);
        var eventsQueueMaxLength = builder.Configuration.GetValue(QueueNames.EventsQueueMaxLengthKey, QueueNames.DefaultEventsQueueMaxLength);
        builder.Services.AddSweeps();
        builder.Services.AddGcForecast();
        builder.Services.AddHostedService<SweepScheduler>();
        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit would otherwise report usage to its vendor over the internet (README, "Network").
            bus.DisableUsageTelemetry();
            bus.AddReceiveEndpointObserver<BrokerConnectionLog>();
            bus.AddConsumer<ManifestPushedConsumer>();
            bus.AddConsumer<DigestDeletedConsumer>();
            bus.AddConsumer<TagDeletedConsumer>();
            bus.AddConsumer<RegistryRestartConsumer>();
            bus.AddConsumer<StartSweepConsumer>();
            bus.AddConsumer<SweepRepositoryConsumer>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                rabbit.Host(rabbitMq);
                rabbit.ReceiveEndpoint(QueueNames.RegistryEvents, endpoint =>
                {
                    // Infrastructure failures (store down) are retried; a broken image is a verdict, not an exception.
                    if (quorumQueues)
                        endpoint.SetQuorumQueue();
                    foreach (var (key, value) in QueueNames.EventsQueueArguments(eventsQueueMaxLength))
                        endpoint.SetQueueArgument(key, value);
                    endpoint.UseMessageRetry(RetryInfrastructureFailures);
                    endpoint.PrefetchCount = 32;
                    endpoint.ConcurrentMessageLimit = 8;
                    endpoint.ConfigureConsumer<ManifestPushedConsumer>(context);
                    endpoint.ConfigureConsumer<DigestDeletedConsumer>(context);
                    endpoint.ConfigureConsumer<TagDeletedConsumer>(context);
                    endpoint.ConfigureConsumer<RegistryRestartConsumer>(context);
                });
                rabbit.ReceiveEndpoint(QueueNames.Sweeps, endpoint =>
                {
                    var sweep = context.GetRequiredService<IOptions<SweepOptions>>().Value;
                    if (quorumQueues)
                        endpoint.SetQuorumQueue();
                    endpoint.UseMessageRetry(RetryInfrastructureFailures);
                    endpoint.PrefetchCount = sweep.ConcurrentRepositories;
                    endpoint.ConcurrentMessageLimit = sweep.ConcurrentRepositories;
                    endpoint.ConfigureConsumer<StartSweepConsumer>(context);
                    endpoint.ConfigureConsumer<SweepRepositoryConsumer>(context);
                });
            });
        });
        return builder;
    }

    private static void RetryInfrastructureFailures(IRetryConfigurator retry) =>
        retry.Exponential(10, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));

    /// <summary>Sweep scheduling and execution (the scheduler itself is only hosted by the service).</summary>
    public static IServiceCollection AddSweeps(this IServiceCollection services)
    {
        services.AddOptions<SweepOptions>().BindConfiguration(SweepOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SweepMetrics>();
        services.AddSingleton<KnownRegistryInstances>();
        services.AddSingleton<QueueAddresses>();
        services.AddScoped<SweepRequester>();
        services.AddTransient<RepositorySweeper>();
        services.AddGcForecastStore();
        return services;
    }

    /// <summary>Registry client, walker and verification: all that the <c>check</c> verb needs too.</summary>
    public static IServiceCollection AddVerification(this IServiceCollection services)
    {
        services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddTimeProvider();
        services.AddSingleton<RegistryMetrics>();
        services.AddSingleton<VerifierMetrics>();
        services.AddSingleton<RegistryCredentials>();
        services.AddSingleton<RegistryAuthenticator>();
        services.AddSingleton<RequestBudget>();
        services.AddTransient<RegistryAuthenticationHandler>();
        services.AddTransient<RequestBudgetHandler>();

        services.AddHttpClient(RegistryAuthenticator.TokenClientName, (provider, http) =>
                http.Timeout = provider.GetRequiredService<IOptions<RegistryOptions>>().Value.RequestTimeout)
            .ConfigurePrimaryHttpMessageHandler(provider => CreatePrimaryHandler(provider.GetRequiredService<IOptions<RegistryOptions>>().Value));

        // Outermost first: the request budget (waiting for it is not a timeout), the standard resilience
        // pipeline (concurrency limit, timeouts, retries, circuit breaker), authentication (each attempt
        // carries a current token), then the socket handler, which follows blob redirects without
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
            });
        registry.AddHttpMessageHandler<RegistryAuthenticationHandler>();
        services.AddTransient<ManifestWalker>();
        services.AddTransient<VerificationService>();
        return services;
    }

    public static IServiceCollection AddDapperRepositories(this IServiceCollection services)
    {
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IDbConnectionFactory>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<StoreOptions>>().Value;
            return options.Provider switch
            {
                StoreProvider.Postgres => new NpgsqlConnectionFactory(NpgsqlDataSource.Create(options.ConnectionString)),
                _ => new SqliteConnectionFactory(options.ConnectionString),
            };
        });
        services.AddSingleton<IVerdictStore, DapperVerdictStore>();
        services.AddSingleton<ISweepStore, DapperSweepStore>();
        services.AddHostedService<StoreMigrationService>();
        return services;
    }

    public static WebApplication MapVerifierEndpoints(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<ApiTokens>().Configured)
            app.Logger.LogWarning("Api:Tokens is not set: anyone who can reach the API can start sweeps.");
        VerifierMetrics.RefreshCountsBeforeEachScrape(app.Services.GetRequiredService<IVerdictStore>());
        SweepMetrics.RefreshBeforeEachScrape(app.Services.GetRequiredService<ISweepStore>());
        app.UseManagementPort(app.Configuration);
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains("live") });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapMetrics("/metrics");
        app.MapStatusApi();
        app.MapSweepApi();
        app.MapGcForecastApi();
        return app;
    }

    private static SocketsHttpHandler CreatePrimaryHandler(RegistryOptions options)
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

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (services.All(s => s.ServiceType != typeof(TimeProvider)))
            services.AddSingleton(TimeProvider.System);
    }

    private static Uri EnsureTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}

/// <summary>Applies schema migrations before the consumers start.</summary>
internal sealed class StoreMigrationService(IVerdictStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal sealed class StoreHealthCheck(IVerdictStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("the verdict store is unreachable", e);
        }
    }
}
