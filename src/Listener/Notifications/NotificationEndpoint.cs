using System.Text.Json;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Listener.Authentication;
using RegistryIntegrity.Listener.Publishing;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>
/// <c>POST /v1/events</c>. The registry retries every non-2xx answer forever and holds every later
/// event behind it, so: 2xx once the events are confirmed by the broker, 503 only when they could
/// not be enqueued, and 2xx (never 4xx) for a malformed envelope from an authenticated sender.
/// </summary>
public static class NotificationEndpoint
{
    private static readonly string[] AcceptedMediaTypes =
    [
        "application/vnd.docker.distribution.events.v1+json",
        "application/vnd.docker.distribution.events.v2+json",
        "application/json",
    ];

    public static IEndpointRouteBuilder MapNotificationEndpoint(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/events", ReceiveAsync);
        return routes;
    }

    internal static async Task<IResult> ReceiveAsync(
        HttpContext context,
        WebhookAuthenticator authenticator,
        RegistryEventPublisher publisher,
        IOptions<ListenerOptions> options,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        var started = time.GetTimestamp();
        var result = await HandleAsync(context, authenticator, publisher, options.Value, loggerFactory.CreateLogger(typeof(NotificationEndpoint)));
        ListenerMetrics.RequestDuration.WithLabels(StatusOf(result)).Observe(time.GetElapsedTime(started).TotalSeconds);
        return result;
    }

    private static async Task<IResult> HandleAsync(
        HttpContext context, WebhookAuthenticator authenticator, RegistryEventPublisher publisher, ListenerOptions options, ILogger logger)
    {
        var request = context.Request;
        if (!authenticator.IsAuthorized(request.Headers.Authorization))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            ListenerMetrics.Events.WithLabels("unknown", "rejected").Inc();
            return Results.Unauthorized();
        }
        if (!IsAcceptedContentType(request.ContentType))
        {
            ListenerMetrics.Events.WithLabels("unknown", "rejected").Inc();
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType,
                detail: $"Content-Type must be one of {string.Join(", ", AcceptedMediaTypes)}.");
        }

        var body = await BodyReader.ReadAsync(request, options.MaxBodyBytes, context.RequestAborted);
        if (body is null)
        {
            ListenerMetrics.Events.WithLabels("unknown", "rejected").Inc();
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge,
                detail: $"The body exceeds {options.MaxBodyBytes} bytes.");
        }

        NotificationEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize(body, NotificationJsonContext.Default.NotificationEnvelope);
        }
        catch (JsonException e)
        {
            return Quarantine(logger, $"not a notification envelope: {e.Message}");
        }
        if (envelope?.Events is not { Count: > 0 } events)
            return Quarantine(logger, "the envelope has no events");

        var toPublish = new List<IRegistryEvent>(events.Count);
        foreach (var translated in events.Select(EventTranslator.Translate))
        {
            switch (translated.Outcome)
            {
                case EventOutcome.Publish:
                    toPublish.Add(translated.Message!);
                    break;
                case EventOutcome.Ignore:
                    ListenerMetrics.Events.WithLabels(translated.Action, "ignored").Inc();
                    break;
                default:
                    ListenerMetrics.Events.WithLabels(translated.Action, "quarantined").Inc();
                    logger.LogWarning("Quarantined a {Action} event: {Reason}", translated.Action, translated.Reason);
                    break;
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(options.PublishTimeout);
        try
        {
            await publisher.PublishAsync(toPublish, timeout.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            ListenerMetrics.PublishFailures.Inc();
            logger.LogWarning("Could not enqueue {Count} event(s), answering 503 so the registry retries: {Error}", toPublish.Count, e.Message);
            context.Response.Headers.RetryAfter = "1";
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: "The message broker did not confirm the events.");
        }

        foreach (var message in toPublish)
        {
            ListenerMetrics.Events.WithLabels(ActionOf(message), "published").Inc();
            ListenerMetrics.LastEventTimestamp.Set(message.OccurredAt.ToUnixTimeMilliseconds() / 1000.0);
        }
        logger.LogDebug("Accepted an envelope of {Count} event(s), {Published} published", events.Count, toPublish.Count);
        return Results.Ok();
    }

    private static IResult Quarantine(ILogger logger, string reason)
    {
        ListenerMetrics.Events.WithLabels("unknown", "quarantined").Inc();
        logger.LogWarning("Quarantined an envelope: {Reason}", reason);
        return Results.Ok();
    }

    private static bool IsAcceptedContentType(string? contentType)
    {
        if (contentType is null)
            return false;
        var mediaType = contentType.Split(';', 2)[0].Trim();
        return AcceptedMediaTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase);
    }

    private static string ActionOf(IRegistryEvent message) => message switch
    {
        ManifestPushed { FromRepository: not null } => "mount",
        ManifestPushed => "push",
        _ => "delete",
    };

    private static string StatusOf(IResult result) =>
        result is IStatusCodeHttpResult { StatusCode: { } code } ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "200";
}
