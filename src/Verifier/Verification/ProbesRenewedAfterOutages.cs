namespace RegistryIntegrity.Verifier.Verification;

/// <summary>
/// A sweep's shared answers that start afresh once the registry has been seen down since they began: the walks
/// after an outage share new answers, rather than each finding the old ones stale and asking everything alone.
/// </summary>
public sealed class ProbesRenewedAfterOutages(IProbeSource first, TimeProvider time) : IProbeSource
{
    private sealed record Generation(IProbeSource Probes, DateTimeOffset Since);

    private Generation _current = new(first, time.GetUtcNow());

    public string Repository => first.Repository;

    public Task<Observed<Registry.ManifestResponse>> GetManifestAsync(string digest, CancellationToken cancellationToken) =>
        Current().GetManifestAsync(digest, cancellationToken);

    public Task<Observed<Registry.ProbeResult>> CheckBlobAsync(string digest, long? size, CancellationToken cancellationToken) =>
        Current().CheckBlobAsync(digest, size, cancellationToken);

    public IProbeSource Renew() => first.Renew();

    public bool UnavailableSince(DateTimeOffset at) => first.UnavailableSince(at);

    private IProbeSource Current()
    {
        var current = Volatile.Read(ref _current);
        if (!current.Probes.UnavailableSince(current.Since))
            return current.Probes;
        // Walks racing here all end up on the one generation that won.
        var next = new Generation(current.Probes.Renew(), time.GetUtcNow());
        var won = Interlocked.CompareExchange(ref _current, next, current);
        return ReferenceEquals(won, current) ? next.Probes : won.Probes;
    }
}
