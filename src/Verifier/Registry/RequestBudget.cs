using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Verifier.Registry;

/// <summary>
/// The requests-per-second budget for the registry (<c>Registry:MaxRequestsPerSecond</c>), a token
/// bucket shared by every request the Verifier sends, so a sweep cannot crowd out the registry's
/// real clients. Requests over budget wait their turn rather than fail.
/// </summary>
public sealed class RequestBudget : IDisposable
{
    private readonly TokenBucketRateLimiter? _limiter;

    public RequestBudget(IOptions<RegistryOptions> options)
    {
        var perSecond = options.Value.MaxRequestsPerSecond;
        if (perSecond <= 0)
            return;
        // Refilled in small steps (about 20 a second) so requests flow evenly instead of in one burst per second.
        var tokensPerPeriod = Math.Max(1, perSecond / 20);
        _limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokensPerPeriod,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds((double)tokensPerPeriod / perSecond),
            QueueLimit = 1_000_000,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    public async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        if (_limiter is null)
            return;
        using var lease = await _limiter.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
            throw new RequestBudgetExceededException();
    }

    public void Dispose() => _limiter?.Dispose();
}

public sealed class RequestBudgetExceededException() : Exception("More requests are waiting for the registry's request budget than the queue holds.");

public sealed class RequestBudgetHandler(RequestBudget budget) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await budget.AcquireAsync(cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }
}
