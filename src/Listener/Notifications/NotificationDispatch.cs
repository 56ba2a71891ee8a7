using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Listener.Configuration;
using RegistryIntegrity.Listener.Monitoring;
using RegistryIntegrity.Listener.Publishing;
using RegistryIntegrity.Listener.Quarantine;

namespace RegistryIntegrity.Listener.Notifications;

internal enum Dispatched { Confirmed, NotConfirmed, Aborted }

/// <summary>
/// Sends a classified notification: its events to the events queue and, when it has a quarantine
/// reason, its body to the quarantine, both confirmed by the broker within
/// <see cref="ListenerOptions.PublishTimeout"/>; counts and logs what became of each event.
/// </summary>
public sealed partial class NotificationDispatch(
    RegistryEventPublisher publisher,
    IQuarantine quarantine,
    ListenerMetrics metrics,
    EventsQueue eventsQueue,
    IOptions<ListenerOptions> options,
    TimeProvider time,
    ILogger<NotificationDispatch> logger,
    BrokerConnectionLog brokerLog)
{
    private readonly ListenerOptions _options = options.Value;

    internal async Task<Dispatched> SendAsync(HttpContext context, RequestBody body, ClassifiedNotification notification)
    {
        var request = context.Request;
        var quarantineReason = notification.QuarantineReason;
        using var timeout = new CancellationTokenSource(_options.PublishTimeout, time);
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, context.RequestAborted);
        try
        {
            var publishing = publisher.PublishAsync(notification.ToPublish, sending.Token);
            var quarantining = quarantineReason is null
                ? Task.CompletedTask
                : quarantine.PutAsync(new QuarantinedNotification(body.Bytes, request.ContentType, quarantineReason, time.GetUtcNow(), context.Connection.RemoteIpAddress?.ToString())
                {
                    SentLength = body.TooLarge ? request.ContentLength ?? -1 : null,
                }, sending.Token);
            await Task.WhenAll(publishing, quarantining);
            if (notification.ToPublish.Count > 0 || quarantineReason is not null)
                brokerLog.Up("a send was confirmed");
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            return Dispatched.Aborted;
        }
        catch (Exception e)
        {
            metrics.PublishFailures.Inc();
            if (notification.ToPublish.Count > 0)
                _ = Task.Run(CountIfQueueFullAsync); // after the answer, never delaying it
            // One warning per outage (BrokerConnectionLog); each refused request is a debug line.
            brokerLog.Down(BrokerConnectionLog.Reason(e));
            LogNotEnqueued(logger, notification.ToPublish.Count, quarantineReason is not null, e.GetType().Name, LogText.Printable(e.Message, 512));
            return Dispatched.NotConfirmed;
        }
        Count(notification, body);
        return Dispatched.Confirmed;
    }

    private void Count(ClassifiedNotification notification, RequestBody body)
    {
        for (var i = 0; i < notification.ToPublish.Count; i++)
        {
            metrics.Events.WithLabels(notification.PublishedActions[i], EventOutcomes.Published).Inc();
            metrics.LastEventTimestamp.Set(notification.ToPublish[i].OccurredAt.ToUnixTimeMilliseconds() / 1000.0);
        }
        foreach (var action in notification.Ignored)
            metrics.Events.WithLabels(action, EventOutcomes.Ignored).Inc();
        if (notification.EnvelopeProblem is not null)
            metrics.Events.WithLabels("unknown", EventOutcomes.Quarantined).Inc();
        foreach (var (action, _) in notification.Invalid)
            metrics.Events.WithLabels(action, EventOutcomes.Quarantined).Inc();
        if (notification.QuarantineReason is { } reason)
            LogQuarantined(logger, body.Bytes.Length, LogText.Printable(reason, 1024));
    }

    /// <summary>A full events queue refuses (nacks) new events: told apart from an outage by its length, after the answer.</summary>
    private async Task CountIfQueueFullAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
        if (!await eventsQueue.IsFullAsync(timeout.Token))
            return;
        LogQueueFull(logger, QueueNames.RegistryEvents, eventsQueue.MaxLength);
        metrics.EventsQueueFull.Inc();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quarantined a notification of {Bytes} bytes and answered 200: {Reason}")]
    private static partial void LogQuarantined(ILogger logger, int bytes, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not enqueue {Count} event(s) (quarantine: {Quarantine}), answering 503 so the registry retries: {ErrorType}: {Error}")]
    private static partial void LogNotEnqueued(ILogger logger, int count, bool quarantine, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue {Queue} is full ({MaxLength} messages, RabbitMq:EventsQueueMaxLength): events are refused until the Verifiers catch up")]
    private static partial void LogQueueFull(ILogger logger, string queue, int maxLength);
}
