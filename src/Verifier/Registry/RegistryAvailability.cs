using System.Net;

namespace RegistryIntegrity.Verifier.Registry;

/// <summary>
/// When the registry was last seen unavailable: a connection refused or dropped, or 502/503/504 from it or
/// a proxy in front of it. The registry 2.8 garbage collector runs while the registry is stopped and sends
/// no event, so an answer given before an outage may no longer hold after it: a walk that mixes answers
/// from both sides of one describes no state the registry was ever in.
/// Slow answers (timeouts) and other errors do not count: they say nothing about a restart, and counting
/// them would walk again under exactly the load that made them slow.
/// </summary>
public sealed class RegistryAvailability(TimeProvider time)
{
    private long _lastUnavailableTicks = long.MinValue;

    public DateTimeOffset? LastUnavailableAt =>
        Interlocked.Read(ref _lastUnavailableTicks) is var ticks && ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);

    public void RecordUnavailable()
    {
        var now = time.GetUtcNow().UtcTicks;
        var seen = Interlocked.Read(ref _lastUnavailableTicks);
        while (now > seen)
        {
            var previous = Interlocked.CompareExchange(ref _lastUnavailableTicks, now, seen);
            if (previous == seen)
                return;
            seen = previous;
        }
    }

    /// <summary>Whether the registry was seen unavailable after <paramref name="at"/>.</summary>
    public bool UnavailableSince(DateTimeOffset at) => Interlocked.Read(ref _lastUnavailableTicks) > at.UtcTicks;
}

/// <summary>Sees every attempt (it sits inside the retries) and records the ones that found the registry unavailable.</summary>
public sealed class RegistryAvailabilityHandler(RegistryAvailability availability) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            availability.RecordUnavailable();
            throw;
        }
        if (response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout)
            availability.RecordUnavailable();
        return response;
    }
}
