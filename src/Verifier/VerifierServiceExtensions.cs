using MassTransit;
using Microsoft.Extensions.Options;
using Prometheus;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Api;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Consumers;
using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.RegistryStorage;
using RegistryIntegrity.Verifier.RegistryStorageRemovals;
using RegistryIntegrity.Verifier.RegistryStorageWatchers;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store.Retention;
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
        builder.Services.AddRegistryStorageRemovals();
        builder.Services.AddRegistryStorageWatchers();
        builder.Services.AddRepair(builder.Configuration, warnings);
        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        builder.Services.AddSingleton<ApiTokens>();
        builder.Services.AddHealthChecks().AddStoreHealthCheck();

        builder.Services.AddSweeps();
        builder.Services.AddRegistryStorage(builder.Configuration);
        builder.Services.AddGcForecast();
        builder.Services.AddHostedService<SweepScheduler>();
        builder.Services.AddHostedService<StoreRetentionService>();
        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit would otherwise report usage to its vendor over the internet (README, "Network").
            bus.DisableUsageTelemetry();
            bus.AddReceiveEndpointObserver<BrokerConnectionLog>();
            bus.AddConsumer<ManifestPushedConsumer>();
            bus.AddConsumer<DigestDeletedConsumer>();
            bus.AddConsumer<TagDeletedConsumer>();
            bus.AddConsumer<RegistryStorageRemovedConsumer>();
            bus.AddConsumer<RegistryStorageWatcherStatusConsumer>();
            bus.AddConsumer<RegistryRestartConsumer>();
            bus.AddConsumer<StartSweepConsumer>();
            bus.AddConsumer<SweepRepositoryConsumer>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var rabbitMq = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                rabbit.Host(rabbitMq.Uri);
                rabbit.ReceiveEndpoint(QueueNames.RegistryEvents, endpoint =>
                {
                    // Infrastructure failures (store down) are retried; a broken image is a verdict, not an exception.
                    if (rabbitMq.QuorumQueues)
                        endpoint.SetQuorumQueue();
                    foreach (var (key, value) in QueueNames.EventsQueueArguments(rabbitMq.EventsQueueMaxLength))
                        endpoint.SetQueueArgument(key, value);
                    endpoint.UseMessageRetry(RetryInfrastructureFailures);
                    endpoint.PrefetchCount = 32;
                    endpoint.ConcurrentMessageLimit = 8;
                    endpoint.ConfigureConsumer<ManifestPushedConsumer>(context);
                    endpoint.ConfigureConsumer<DigestDeletedConsumer>(context);
                    endpoint.ConfigureConsumer<TagDeletedConsumer>(context);
                    endpoint.ConfigureConsumer<RegistryStorageRemovedConsumer>(context);
                    endpoint.ConfigureConsumer<RegistryStorageWatcherStatusConsumer>(context);
                    endpoint.ConfigureConsumer<RegistryRestartConsumer>(context);
                });
                rabbit.ReceiveEndpoint(QueueNames.Sweeps, endpoint =>
                {
                    var sweep = context.GetRequiredService<IOptions<SweepOptions>>().Value;
                    if (rabbitMq.QuorumQueues)
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

    public static WebApplication MapVerifierEndpoints(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<ApiTokens>().Configured)
            app.Logger.LogWarning("Api:Tokens is not set: anyone who can reach the API can start sweeps.");
        app.Services.GetRequiredService<VerifierMetrics>().RefreshCountsBeforeEachScrape(app.Services.GetRequiredService<IVerdictStore>());
        app.Services.GetRequiredService<SweepMetrics>().RefreshBeforeEachScrape(app.Services.GetRequiredService<ISweepStore>());
        app.Services.GetRequiredService<StorageWatcherMetrics>().RefreshBeforeEachScrape(app.Services.GetRequiredService<HeardStorageWatchers>());
        app.UseManagementPort(app.Configuration);
        app.MapHealthProbes();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<VerifierMetricsRegistry>().Registry);
        app.MapStatusApi();
        app.MapSweepApi();
        app.MapRepairApi();
        app.MapGcForecastApi();
        return app;
    }

    /// <summary>
    /// Builds and runs the long-running service until <paramref name="cancellationToken"/> fires; a bad
    /// setting found at start becomes a <see cref="SettingsException"/>.
    /// </summary>
    public static async Task<int> RunServiceAsync(string[] args, TextWriter warnings, CancellationToken cancellationToken)
    {
        // The content root is the application's folder, so appsettings.json applies wherever the process is started.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddVerifierServices(warnings);
        var app = builder.Build();
        app.MapVerifierEndpoints();
        try
        {
            await app.RunAsync(cancellationToken);
        }
        catch (OptionsValidationException e)
        {
            throw new SettingsException(e.Failures.ToList());
        }
        return 0;
    }
}

