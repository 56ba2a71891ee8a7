using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Verification;

/// <summary>
/// Where a walk gets its answers about one repository's objects: the registry's HTTP API
/// (<see cref="RegistryProbeCache"/>) or the registry's storage read directly
/// (<c>RegistryStorage.StorageProbeSource</c>). Either answers present, missing (only when the
/// registry or its storage shows the object gone) or indeterminate with the reason, so one walker
/// and one set of verdict rules serve both.
/// </summary>
public interface IProbeSource
{
    string Repository { get; }

    Task<Observed<ManifestResponse>> GetManifestAsync(string digest, CancellationToken cancellationToken);

    Task<Observed<ProbeResult>> CheckBlobAsync(string digest, long? size, CancellationToken cancellationToken);

    /// <summary>A source for the same repository with no answers kept: a walk overtaken by events is walked again with fresh ones.</summary>
    IProbeSource Renew();

    /// <summary>
    /// Whether the source was seen unavailable after <paramref name="at"/>: an answer given before may not hold
    /// after it (an offline garbage collection sends no event), so a walk resting on one is walked again.
    /// </summary>
    bool UnavailableSince(DateTimeOffset at);
}
