using MassTransit;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Prometheus;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Listener.Authentication;
using RegistryIntegrity.Listener.Configuration;
using RegistryIntegrity.Listener.Monitoring;
using RegistryIntegrity.Listener.Notifications;
using RegistryIntegrity.Listener.Publishing;
using RegistryIntegrity.Listener.Quarantine;

namespace RegistryIntegrity.Listener;

public static class ListenerServiceExtensions
{
    /// <summary>Composes the Listener; throws <see cref="SettingsException"/> (one line per bad setting) before anything starts.</summary>
    public static WebApplicationBuilder AddListenerServices(this WebApplicationBuilder builder)
    {
        foreach (var warning in ListenerSettings.Check(builder.Configuration))
            Console.Error.WriteLine($"warning: {warning}");
        var services = builder.Services;
        services.AddOptions<ListenerOptions>()
            .BindConfiguration(ListenerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<ListenerOptions>, TrimBearerTokens>();
        services.AddSingleton<IValidateOptions<ListenerOptions>, ListenerOptionsValidator>();
        services.AddRabbitMqOptions();
        builder.AddManagementPort();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ListenerOptions>>((kestrel, options) => ConfigureKestrel(kestrel, options.Value));
        // Kestrel stops first (it is the last hosted service to start) and lets in-flight requests
        // finish within this time; the bus stops after it, so their sends still get confirmed.
        services.AddOptions<HostOptions>().Configure<IOptions<ListenerOptions>>((host, options) => host.ShutdownTimeout = options.Value.ShutdownTimeout);

        services.AddSystemTime();
        services.AddSingleton<ListenerMetrics>();
        services.AddSingleton<SourceInstanceTracker>();
        services.AddSingleton<WebhookAuthenticator>();
        services.AddSingleton<EventsQueue>();
        services.AddSingleton<RegistryEventPublisher>();
        services.AddSingleton<RabbitMqQuarantine>();
        services.AddSingleton<IQuarantine>(provider => provider.GetRequiredService<RabbitMqQuarantine>());
        services.AddSingleton<NotificationGate>();
        services.AddSingleton<NotificationDispatch>();
        services.AddSingleton<NotificationHandler>();
        services.AddSingleton<BrokerConnectionLog>();
        services.AddHealthChecks().AddCheck<BrokerReadinessCheck>("rabbitmq", tags: [ServiceDefaults.ReadyTag]);

        services.AddMassTransit(bus =>
        {
            // MassTransit would otherwise report usage to its vendor over the internet (README, "Network").
            bus.DisableUsageTelemetry();
            // One warning per broker state change instead of MassTransit's retry noise (filtered in appsettings.json).
            // The same instance as the notification handler's, so both report one broker state.
            bus.AddReceiveEndpointObserver(provider => provider.GetRequiredService<BrokerConnectionLog>());
            bus.UsingRabbitMq((context, rabbit) => rabbit.Host(context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Uri));
        });
        return builder;
    }

    public static WebApplication MapListenerEndpoints(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ListenerOptions>>().Value.AllowAnonymous)
            app.Logger.LogWarning("Listener:AllowAnonymous is set: notifications are accepted without credentials.");

        app.UseManagementPort(app.Configuration);
        app.MapNotificationEndpoint();
        app.MapHealthProbes();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<ListenerMetrics>().Registry);
        return app;
    }

    private static void ConfigureKestrel(KestrelServerOptions kestrel, ListenerOptions options)
    {
        kestrel.AddServerHeader = false;
        var limits = kestrel.Limits;
        kestrel.LimitConnectionsPerPort(options.MaxConcurrentConnections);
        limits.KeepAliveTimeout = options.KeepAliveTimeout;
        limits.MaxConcurrentUpgradedConnections = 0;
        // The handler checks MaxBodyBytes itself and answers 413; this stops Kestrel reading beyond it.
        limits.MaxRequestBodySize = options.MaxBodyBytes;
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(5));
        limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        limits.MaxRequestLineSize = 4 * 1024;
        limits.MaxRequestHeaderCount = 64;
        limits.MaxRequestHeadersTotalSize = 16 * 1024;
    }
}
