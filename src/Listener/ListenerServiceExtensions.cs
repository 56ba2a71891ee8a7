using MassTransit;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Prometheus;
using RegistryIntegrity.Listener.Authentication;
using RegistryIntegrity.Listener.Notifications;
using RegistryIntegrity.Listener.Publishing;

namespace RegistryIntegrity.Listener;

public static class ListenerServiceExtensions
{
    public static WebApplicationBuilder AddListenerServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ListenerOptions>()
            .BindConfiguration(ListenerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ListenerOptions>, ListenerOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WebhookAuthenticator>();
        builder.Services.AddSingleton<RegistryEventPublisher>();
        builder.Services.AddHealthChecks();

        var rabbitMq = builder.Configuration.GetConnectionString("RabbitMq")
            ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq is not set (an amqp:// URI).");
        builder.Services.AddMassTransit(bus => bus.UsingRabbitMq((_, rabbit) => rabbit.Host(new Uri(rabbitMq))));
        return builder;
    }

    public static WebApplication MapListenerEndpoints(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ListenerOptions>>().Value.AllowAnonymous)
            app.Logger.LogWarning("Listener:AllowAnonymous is set: notifications are accepted without credentials.");

        app.MapNotificationEndpoint();
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains("live") });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapMetrics("/metrics");
        return app;
    }
}
