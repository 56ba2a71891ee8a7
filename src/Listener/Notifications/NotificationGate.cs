using Microsoft.Extensions.Options;
using RegistryIntegrity.Listener.Authentication;
using RegistryIntegrity.Listener.Configuration;
using RegistryIntegrity.Listener.Monitoring;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>What the gate let through (<see cref="Body"/>), or its own answer (<see cref="Answer"/>); <see cref="Aborted"/> when the sender left.</summary>
internal sealed record Admission(RequestBody? Body, (int Status, IResult Result)? Answer, bool Aborted)
{
    public static Admission Admitted(RequestBody body) => new(body, null, false);
}

/// <summary>
/// The gate of <c>POST /v1/events</c>: the sender's credentials (401) and its body, which must arrive
/// within <see cref="ListenerOptions.RequestBodyTimeout"/> (408). Only an HTTP-level failure is refused;
/// a body that is too large is let through cut, for the quarantine.
/// </summary>
public sealed partial class NotificationGate(
    WebhookAuthenticator authenticator,
    ListenerMetrics metrics,
    IOptions<ListenerOptions> options,
    TimeProvider time,
    ILogger<NotificationGate> logger)
{
    private readonly ListenerOptions _options = options.Value;

    internal async Task<Admission> AdmitAsync(HttpContext context)
    {
        if (!authenticator.IsAuthorized(context.Request.Headers.Authorization))
        {
            LogUnauthorized(logger, context.Connection.RemoteIpAddress?.ToString());
            context.Response.Headers.WWWAuthenticate = authenticator.Challenges;
            return Rejected(StatusCodes.Status401Unauthorized, Results.Unauthorized());
        }
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
                return new Admission(null, null, Aborted: true);
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
        return Admission.Admitted(body);
    }

    private Admission Rejected(int status, IResult result)
    {
        metrics.Events.WithLabels("unknown", EventOutcomes.Rejected).Inc();
        return new Admission(null, (status, result), Aborted: false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a notification from {RemoteAddress}: missing or invalid credentials (401)")]
    private static partial void LogUnauthorized(ILogger logger, string? remoteAddress);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a notification whose body did not arrive within {Seconds} s (408)")]
    private static partial void LogBodyTooSlow(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a malformed HTTP request: {Error}")]
    private static partial void LogBadRequest(ILogger logger, string error);
}
