using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Listener.Configuration;
using RegistryIntegrity.Listener.Quarantine;

using RegistryIntegrity.Listener.Publishing;

namespace RegistryIntegrity.Listener.Monitoring;

/// <summary>
/// Ready means the broker takes connections. MassTransit's own bus check cannot tell: with no
/// receive endpoint it stays healthy while the broker is down, and its send channel connects only
/// when something is sent. The quarantine's connection is the Listener's own, so it serves as the
/// probe; it reconnects on the probe after an outage. Each probe also reports the broker's state to
/// <see cref="BrokerConnectionLog"/>, so a Listener without notifications logs an outage too.
/// </summary>
public sealed class BrokerReadinessCheck(
    RabbitMqQuarantine broker, EventsQueue eventsQueue, ListenerMetrics metrics, IOptions<ListenerOptions> options, TimeProvider time, BrokerConnectionLog brokerLog) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = await CheckAsync(cancellationToken);
        metrics.BrokerReachable.Set(result.Status == HealthStatus.Healthy ? 1 : 0);
        if (result.Status == HealthStatus.Healthy)
            brokerLog.Up("readiness probe");
        else if (!cancellationToken.IsCancellationRequested)
        {
            var failure = result.Exception ?? broker.LastConnectFailure;
            brokerLog.Down(failure is null ? "no answer in time" : BrokerConnectionLog.Reason(failure));
        }
        return result;
    }

    private async Task<HealthCheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(options.Value.PublishTimeout * 2, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            if (!await broker.TryConnectAsync(timeout.Token))
                return HealthCheckResult.Unhealthy("RabbitMQ is unreachable: notifications are answered 503.");
            // Declared here, the queue costs the first notification nothing.
            await eventsQueue.EnsureDeclaredAsync(timeout.Token);
            return HealthCheckResult.Healthy("RabbitMQ takes connections.");
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.OperationInterruptedException or IOException)
        {
            return HealthCheckResult.Unhealthy("The events queue could not be declared: notifications are answered 503.", e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("RabbitMQ did not answer in time: notifications are answered 503.");
        }
    }
}
