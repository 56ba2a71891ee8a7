using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>
/// What a sweep reads the registry through: its HTTP API (<see cref="RegistrySweepSource"/>, the default) or its
/// storage (<c>RegistryStorage.StorageSweepSource</c>, with <c>RegistryStorage:Root</c>). The sweep's rules
/// (<see cref="RepositorySweeper"/>, <see cref="VerificationService"/>) are the same for both.
/// </summary>
public interface ISweepSource
{
    /// <summary>Every repository, or the error that makes the listing unusable (a listing cut short would drop repositories).</summary>
    Task<(IReadOnlyList<string> Repositories, string? Error)> ListRepositoriesAsync(CancellationToken cancellationToken);

    /// <summary>Every tag of the repository (none when the repository is gone), or the problem that cut the listing short.</summary>
    /// <returns><c>NoTagsDirectory</c>: the listing answered 404 (the repository has no tags directory, or is gone), which makes 2.8's <c>garbage-collect -m</c> fail.</returns>
    Task<(List<string> Tags, string? Problem, bool NoTagsDirectory)> ListTagsAsync(string repository, CancellationToken cancellationToken);

    /// <summary>The digest the tag points at now; missing when the registry would answer 404 for it.</summary>
    Task<(string? Digest, ProbeResult Probe)> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken);

    /// <summary>The answers the walks of one repository share.</summary>
    IProbeSource CreateProbes(string repository);
}
