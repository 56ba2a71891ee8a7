using System.Collections.Concurrent;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>
/// The registry's answers for one repository, each requested at most once: shared by the walks of
/// one sweep so manifests and layers common to many images cost one request each.
/// </summary>
public sealed class RegistryProbeCache(RegistryClient registry, string repository)
{
    // Lazy: under a race GetOrAdd may run its value factory twice, and the factory sends the request.
    private readonly ConcurrentDictionary<string, Lazy<Task<ManifestResponse>>> _manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<ProbeResult>>> _blobs = new(StringComparer.Ordinal);

    public string Repository => repository;

    public Task<ManifestResponse> GetManifestAsync(string digest, CancellationToken cancellationToken) =>
        _manifests.GetOrAdd(digest, d => new(() => registry.GetManifestAsync(repository, d, cancellationToken))).Value;

    public Task<ProbeResult> CheckBlobAsync(string digest, long? size, CancellationToken cancellationToken) =>
        _blobs.GetOrAdd(digest, d => new(() => registry.CheckBlobAsync(repository, d, size, cancellationToken))).Value;
}
