using RegistryIntegrity.Hosting;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Listener.Authentication;
using RegistryIntegrity.Listener.Monitoring;
using RegistryIntegrity.Listener.Publishing;
using RegistryIntegrity.Listener.Quarantine;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>
/// Answers <c>POST /v1/events</c>. The registry retries every non-2xx answer forever and holds every
/// later event behind it, so: 200 once the events are confirmed by the broker, 503 only when they
/// could not be enqueued, and 200 (never 4xx) for an unusable envelope from an authenticated sender,
/// once it is quarantined.
/// </summary>
public sealed partial class NotificationHandler(
    WebhookAuthenticator authenticator,
    RegistryEventPublisher publisher,
    IQuarantine quarantine,
    ListenerMetrics metrics,
    SourceInstanceTracker sourceInstances,
    EventsQueue eventsQueue,
    IOptions<ListenerOptions> options,
    TimeProvider time,
    ILogger<NotificationHandler> logger,
    BrokerConnectionLog brokerLog)
{
    /// <summary>Registries send one event per POST; an envelope with more than this is quarantined whole.</summary>
    public const int MaxEventsPerEnvelope = 256;

    private const int ClientClosedRequest = 499;

    private static readonly string[] AcceptedMediaTypes =
    [
        "application/vnd.docker.distribution.events.v1+json",
        "application/vnd.docker.distribution.events.v2+json",
        "application/json",
    ];

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
        var request = context.Request;
        if (!authenticator.IsAuthorized(request.Headers.Authorization))
        {
            LogUnauthorized(logger, RemoteAddress(context));
            context.Response.Headers.WWWAuthenticate = authenticator.Challenges;
            return Rejected(StatusCodes.Status401Unauthorized, Results.Unauthorized());
        }
        // Past authentication every answer is 200 or 503: the registry retries anything else forever.
        RequestBody body;
        using (var bodyTimeout = new CancellationTokenSource(_options.RequestBodyTimeout, time))
        using (var reading = CancellationTokenSource.CreateLinkedTokenSource(bodyTimeout.Token, context.RequestAborted))
        {
            try
            {
                body = await BodyReader.ReadAsync(context, _options.MaxBodyBytes, reading.Token);
            }
            catch (Exception) when (context.RequestAborted.IsCancellationRequested)
            {
                return Aborted();
            }
            catch (Exception e) when (e is OperationCanceledException || e is BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout })
            {
                LogBodyTooSlow(logger, _options.RequestBodyTimeout.TotalSeconds);
                return Rejected(StatusCodes.Status408RequestTimeout, Results.StatusCode(StatusCodes.Status408RequestTimeout));
            }
            catch (BadHttpRequestException e)
            {
                LogBadRequest(logger, LogText.Printable(e.Message, 512));
                return Rejected(e.StatusCode, Results.StatusCode(e.StatusCode));
            }
        }
        if (body.TooLarge)
        {
            // The rest of the body is not read: close the connection rather than drain it.
            context.Response.Headers.Connection = "close";
        }

        var toPublish = new List<IRegistryEvent>(1);
        var actions = new List<string>(1);
        var ignored = new List<string>(0);
        var invalid = new List<(string Action, string Reason)>(0);
        var envelopeProblem = body.TooLarge ? $"the body exceeds {_options.MaxBodyBytes} bytes"
            : !IsAcceptedContentType(request.ContentType) ? $"Content-Type {LogText.Printable(request.ContentType)} is not one of {string.Join(", ", AcceptedMediaTypes)}"
            : ParseEnvelope(body.Bytes, toPublish, actions, ignored, invalid);

        string? quarantineReason = envelopeProblem
            ?? (invalid.Count == 0 ? null : string.Join("; ", invalid.Select(i => $"{i.Action} event: {i.Reason}")));
        using var timeout = new CancellationTokenSource(_options.PublishTimeout, time);
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, context.RequestAborted);
        try
        {
            var publishing = publisher.PublishAsync(toPublish, sending.Token);
            var quarantining = quarantineReason is null
                ? Task.CompletedTask
                : quarantine.PutAsync(new QuarantinedNotification(body.Bytes, request.ContentType, quarantineReason, time.GetUtcNow(), RemoteAddress(context))
                {
                    SentLength = body.TooLarge ? request.ContentLength ?? -1 : null,
                }, sending.Token);
            await Task.WhenAll(publishing, quarantining);
            if (toPublish.Count > 0 || quarantineReason is not null)
                brokerLog.Up("a send was confirmed");
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            return Aborted();
        }
        catch (Exception e)
        {
            metrics.PublishFailures.Inc();
            if (toPublish.Count > 0)
                _ = Task.Run(CountIfQueueFullAsync); // after the answer, never delaying it
            // One warning per outage (BrokerConnectionLog); each refused request is a debug line.
            brokerLog.Down(BrokerConnectionLog.Reason(e));
            LogNotEnqueued(logger, toPublish.Count, quarantineReason is not null, e.GetType().Name, LogText.Printable(e.Message, 512));
            context.Response.Headers.RetryAfter = "1";
            return (StatusCodes.Status503ServiceUnavailable, Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                detail: "The message broker did not confirm the events; retry."));
        }

        for (var i = 0; i < toPublish.Count; i++)
        {
            metrics.Events.WithLabels(actions[i], EventOutcomes.Published).Inc();
            metrics.LastEventTimestamp.Set(toPublish[i].OccurredAt.ToUnixTimeMilliseconds() / 1000.0);
        }
        foreach (var action in ignored)
            metrics.Events.WithLabels(action, EventOutcomes.Ignored).Inc();
        if (envelopeProblem is not null)
            metrics.Events.WithLabels("unknown", EventOutcomes.Quarantined).Inc();
        foreach (var (action, _) in invalid)
            metrics.Events.WithLabels(action, EventOutcomes.Quarantined).Inc();
        if (quarantineReason is not null)
            LogQuarantined(logger, body.Bytes.Length, LogText.Printable(quarantineReason, 1024));

        tally.Published = toPublish.Count;
        tally.Ignored = ignored.Count;
        tally.Quarantined = envelopeProblem is null ? invalid.Count : 1;
        return (StatusCodes.Status200OK, Results.Ok());

        (int, IResult) Rejected(int status, IResult result)
        {
            metrics.Events.WithLabels("unknown", EventOutcomes.Rejected).Inc();
            return (status, result);
        }

        (int, IResult) Aborted()
        {
            LogAborted(logger);
            return (ClientClosedRequest, Results.StatusCode(ClientClosedRequest));
        }
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

    /// <summary>Classifies the envelope's events; returns what makes the envelope as a whole unusable, if anything.</summary>
    private string? ParseEnvelope(
        byte[] body, List<IRegistryEvent> toPublish, List<string> actions, List<string> ignored, List<(string, string)> invalid)
    {
        try
        {
            var envelope = JsonSerializer.Deserialize(body, NotificationJsonContext.Default.NotificationEnvelope);
            if (envelope?.Events is not { Count: > 0 } events)
                return "the envelope has no events";
            if (events.Count > MaxEventsPerEnvelope)
                return $"the envelope has {events.Count} events, more than {MaxEventsPerEnvelope}";
            Classify(events, toPublish, actions, ignored, invalid);
            return null;
        }
        catch (JsonException e)
        {
            return $"not a notification envelope: {e.Message}";
        }
    }

    private void Classify(
        IReadOnlyList<RegistryEvent?> events, List<IRegistryEvent> toPublish, List<string> actions, List<string> ignored, List<(string, string)> invalid)
    {
        foreach (var registryEvent in events)
        {
            var translated = EventTranslator.Translate(registryEvent);
            switch (translated.Outcome)
            {
                case EventOutcome.Publish:
                    toPublish.Add(translated.Message!);
                    actions.Add(translated.Action);
                    break;
                case EventOutcome.Ignore:
                    ignored.Add(translated.Action);
                    break;
                default:
                    invalid.Add((translated.Action, translated.Reason!));
                    break;
            }
            sourceInstances.Observe(translated.SourceInstanceId);
        }
    }

    private static bool IsAcceptedContentType(string? contentType)
    {
        if (contentType is null)
            return false;
        var mediaType = contentType.AsSpan();
        var semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
            mediaType = mediaType[..semicolon];
        mediaType = mediaType.Trim();
        foreach (var accepted in AcceptedMediaTypes)
        {
            if (mediaType.Equals(accepted, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static string? RemoteAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a notification from {RemoteAddress}: missing or invalid credentials (401)")]
    private static partial void LogUnauthorized(ILogger logger, string? remoteAddress);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a notification whose body did not arrive within {Seconds} s (408)")]
    private static partial void LogBodyTooSlow(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a malformed HTTP request: {Error}")]
    private static partial void LogBadRequest(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quarantined a notification of {Bytes} bytes and answered 200: {Reason}")]
    private static partial void LogQuarantined(ILogger logger, int bytes, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not enqueue {Count} event(s) (quarantine: {Quarantine}), answering 503 so the registry retries: {ErrorType}: {Error}")]
    private static partial void LogNotEnqueued(ILogger logger, int count, bool quarantine, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue {Queue} is full ({MaxLength} messages, RabbitMq:EventsQueueMaxLength): events are refused until the Verifiers catch up")]
    private static partial void LogQueueFull(ILogger logger, string queue, int maxLength);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The sender closed the request before it was answered")]
    private static partial void LogAborted(ILogger logger);
}
