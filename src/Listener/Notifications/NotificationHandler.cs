using Microsoft.Extensions.Options;
using RegistryIntegrity.Listener.Configuration;
using RegistryIntegrity.Listener.Monitoring;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>
/// Answers <c>POST /v1/events</c>. The registry retries every non-2xx answer forever and holds every
/// later event behind it, so: 200 once the events are confirmed by the broker, 503 only when they
/// could not be enqueued, and 200 (never 4xx) for an unusable envelope from an authenticated sender,
/// once it is quarantined.
/// </summary>
public sealed partial class NotificationHandler(
    NotificationGate gate,
    NotificationDispatch dispatch,
    ListenerMetrics metrics,
    SourceInstanceTracker sourceInstances,
    IOptions<ListenerOptions> options,
    TimeProvider time,
    ILogger<NotificationHandler> logger)
{
    private const int ClientClosedRequest = 499;

    private readonly ListenerOptions _options = options.Value;

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        var tally = new Tally();
        var (status, result) = await ProcessAsync(context, tally);
        var elapsed = time.GetElapsedTime(started);
        metrics.RequestDuration.WithLabels(StatusLabel(status)).Observe(elapsed.TotalSeconds);
        LogAnswered(logger, status, elapsed.TotalMilliseconds, tally.Published, tally.Ignored, tally.Quarantined);
        return result;
    }

    private async Task<(int Status, IResult Result)> ProcessAsync(HttpContext context, Tally tally)
    {
        var admission = await gate.AdmitAsync(context);
        if (admission.Answer is { } refused)
            return refused;
        if (admission.Aborted)
            return Aborted();
        // Past the gate every answer is 200 or 503: the registry retries anything else forever.
        var body = admission.Body!;
        var notification = NotificationClassifier.Classify(body.Bytes, body.TooLarge, context.Request.ContentType, _options.MaxBodyBytes);
        foreach (var instanceId in notification.SourceInstanceIds)
            sourceInstances.Observe(instanceId);

        switch (await dispatch.SendAsync(context, body, notification))
        {
            case Dispatched.Aborted:
                return Aborted();
            case Dispatched.NotConfirmed:
                context.Response.Headers.RetryAfter = "1";
                return (StatusCodes.Status503ServiceUnavailable, Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                    detail: "The message broker did not confirm the events; retry."));
        }
        tally.Published = notification.ToPublish.Count;
        tally.Ignored = notification.Ignored.Count;
        tally.Quarantined = notification.QuarantinedCount;
        return (StatusCodes.Status200OK, Results.Ok());

        (int, IResult) Aborted()
        {
            LogAborted(logger);
            return (ClientClosedRequest, Results.StatusCode(ClientClosedRequest));
        }
    }

    private static string StatusLabel(int status) => status switch
    {
        200 => "200",
        401 => "401",
        408 => "408",
        413 => "413",
        415 => "415",
        499 => "499",
        503 => "503",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private sealed class Tally
    {
        public int Published { get; set; }
        public int Ignored { get; set; }
        public int Quarantined { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "POST /v1/events answered {Status} in {ElapsedMs:0.###} ms: {Published} published, {Ignored} ignored, {Quarantined} quarantined")]
    private static partial void LogAnswered(ILogger logger, int status, double elapsedMs, int published, int ignored, int quarantined);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The sender closed the request before it was answered")]
    private static partial void LogAborted(ILogger logger);
}
