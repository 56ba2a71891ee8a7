using System.Net.Sockets;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace RegistryIntegrity.Hosting;

/// <summary>
/// Logs the broker connection by state change instead of every retry: one warning with the reason when
/// it is lost, one every <see cref="Reminder"/> while it stays lost, one line when it is back. Each retry
/// is a debug line without a stack trace (MassTransit's own retry warnings are filtered in appsettings.json).
/// Both services add it as a receive endpoint observer: the Listener's bus endpoint fails and recovers with the connection.
/// </summary>
public sealed class BrokerConnectionLog(ILogger<BrokerConnectionLog> logger, TimeProvider time) : IReceiveEndpointObserver
{
    public static readonly TimeSpan Reminder = TimeSpan.FromMinutes(5);

    private readonly Lock _gate = new();
    private DateTimeOffset? _downSince;
    private DateTimeOffset _lastWarning;
    private int _down; // read without the lock on every confirmed send

    public Task Ready(ReceiveEndpointReady ready)
    {
        Up(ready.InputAddress.ToString());
        return Task.CompletedTask;
    }

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        Down(faulted.Exception is { } exception ? Reason(exception) : "no reason given");
        return Task.CompletedTask;
    }

    /// <summary>The broker answered (an endpoint is ready, a send was confirmed): one line if it was down.</summary>
    public void Up(string where)
    {
        if (Volatile.Read(ref _down) == 0)
            return;
        lock (_gate)
        {
            if (_downSince is { } since)
                logger.LogInformation("Broker connection is back after {Duration:g} ({Endpoint})", time.GetUtcNow() - since, where);
            _downSince = null;
            Volatile.Write(ref _down, 0);
        }
    }

    /// <summary>The broker could not be reached: a warning when that is news or the reminder is due, else a debug line.</summary>
    public void Down(string reason)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_downSince is null)
            {
                (_downSince, _lastWarning) = (now, now);
                Volatile.Write(ref _down, 1);
                logger.LogWarning("{Failure}: {Reason}; retrying (one reminder every {Reminder:g} while it lasts)", Failure(reason), reason, Reminder);
            }
            else if (now - _lastWarning >= Reminder)
            {
                _lastWarning = now;
                logger.LogWarning("{Failure} still, after {Duration:g}: {Reason}", Failure(reason), now - _downSince.Value, reason);
            }
            else
                logger.LogDebug("Broker connection attempt failed: {Reason}", reason);
        }
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    /// <summary>A broker that answered to refuse the credentials is not unreachable: the headline says which it was.</summary>
    private static string Failure(string reason) =>
        reason.StartsWith(AccessRefused, StringComparison.Ordinal) ? "Broker refused access" : "Broker unreachable";

    private const string AccessRefused = "access refused";

    /// <summary>What an operator needs to act: refused, timed out, or a wrong password, not "unreachable" for all three.</summary>
    public static string Reason(Exception exception)
    {
        var chain = new List<Exception>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            chain.Add(e);
            if (e is AggregateException aggregate)
                chain.AddRange(aggregate.InnerExceptions);
        }
        if (chain.Any(e => e.GetType().Name.Contains("AuthenticationFailure", StringComparison.Ordinal)
                           || e.Message.Contains("ACCESS_REFUSED", StringComparison.Ordinal)))
            return $"{AccessRefused}: wrong username or password in ConnectionStrings:RabbitMq";
        if (chain.All(e => e is OperationCanceledException or AggregateException))
            return "no answer in time";
        if (chain.OfType<SocketException>().FirstOrDefault() is { } socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.TimedOut => "timed out",
                SocketError.HostNotFound or SocketError.TryAgain => "host not found",
                _ => socket.Message,
            };
        }
        return chain[^1].Message;
    }
}
