using System.Collections.Concurrent;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>A registry answer and when it was asked for: a verdict built on it is no newer than that.</summary>
public readonly record struct Observed<T>(T Value, DateTimeOffset AskedAt);

/// <summary>
/// The registry's answers for one repository, each requested at most once: shared by the walks of
/// one sweep so manifests and layers common to many images cost one request each.
/// </summary>
public sealed class RegistryProbeCache(RegistryClient registry, string repository, TimeProvider time) : IProbeSource
{
    // Lazy: GetOrAdd may run a value factory twice under a race, which would send the request twice.
    private readonly ConcurrentDictionary<string, Lazy<Task<Observed<ManifestResponse>>>> _manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<Observed<ProbeResult>>>> _blobs = new(StringComparer.Ordinal);

    public string Repository => repository;

    public Task<Observed<ManifestResponse>> GetManifestAsync(string digest, CancellationToken cancellationToken) =>
        _manifests.GetOrAdd(digest, d => new(() => AskAsync(() => registry.GetManifestAsync(repository, d, cancellationToken)))).Value;

    public Task<Observed<ProbeResult>> CheckBlobAsync(string digest, long? size, CancellationToken cancellationToken) =>
        _blobs.GetOrAdd(digest, d => new(() => AskAsync(() => registry.CheckBlobAsync(repository, d, size, cancellationToken)))).Value;

    public IProbeSource Renew() => new RegistryProbeCache(registry, repository, time);

    public bool UnavailableSince(DateTimeOffset at) => registry.Availability?.UnavailableSince(at) ?? false;

    private async Task<Observed<T>> AskAsync<T>(Func<Task<T>> request)
    {
        var askedAt = time.GetUtcNow();
        return new Observed<T>(await request(), askedAt);
    }
}
