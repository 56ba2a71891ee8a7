using MassTransit;
using Microsoft.Extensions.Options;
using Prometheus;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Listener.Configuration;
using RegistryIntegrity.Listener.Monitoring;
using RegistryIntegrity.Listener.Publishing;

namespace RegistryIntegrity.Listener.StorageWatcher;

/// <summary>
/// The Listener's <c>watch-storage</c> mode: instead of receiving the registry's notifications it watches the
/// registry's storage, and sends what it sees on the same events queue. No notification endpoint, no webhook credentials.
/// </summary>
public static class StorageWatcherServiceExtensions
{
    public const string Verb = "watch-storage";

    public static WebApplicationBuilder AddStorageWatcherServices(this WebApplicationBuilder builder)
    {
        var check = new SettingsCheck(builder.Configuration);
        check.Section<StorageWatcherOptions>(StorageWatcherOptions.SectionName);
        RabbitMqOptions.Check(check);
        check.Urls();
        ManagementPort.Check(check);
        check.LogLevels();
        foreach (var warning in check.ThrowIfInvalid())
            Console.Error.WriteLine($"warning: {warning}");

        var services = builder.Services;
        services.AddOptions<StorageWatcherOptions>().BindConfiguration(StorageWatcherOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // The events queue's declaration reads the publish timeout; the webhook settings are not used in this mode.
        services.AddOptions<ListenerOptions>().BindConfiguration(ListenerOptions.SectionName);
        builder.AddManagementPort();
        services.AddRabbitMqOptions();
        services.AddSystemTime();
        services.AddSingleton<ListenerMetrics>();
        services.AddSingleton<EventsQueue>();
        services.AddSingleton<StorageWatcherStatus>();
        services.AddHostedService<StorageWatcherService>();
        services.AddHealthChecks();

        services.AddMassTransit(bus =>
        {
            bus.DisableUsageTelemetry();
            bus.UsingRabbitMq((context, rabbit) => rabbit.Host(context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Uri));
        });
        return builder;
    }

    public static WebApplication MapStorageWatcherEndpoints(this WebApplication app)
    {
        app.UseManagementPort(app.Configuration);
        app.MapHealthProbes();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<ListenerMetrics>().Registry);
        app.MapGet("/v1/status", (StorageWatcherStatus status) => Results.Ok(status.Snapshot()));
        return app;
    }
}
