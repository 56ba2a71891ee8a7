using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RegistryIntegrity.Hosting;

/// <summary>What both services' hosts register and map the same way.</summary>
public static class ServiceDefaults
{
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";

    /// <summary>The system clock, unless a test registered its own first.</summary>
    public static IServiceCollection AddSystemTime(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// <c>/healthz/live</c> runs the checks tagged live, <c>/healthz/ready</c> those tagged ready
    /// (the service's own and MassTransit's bus check). Degraded counts as not ready: 503.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthProbes(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        endpoints.MapHealthChecks("/healthz/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable },
        });
        return endpoints;
    }
}
