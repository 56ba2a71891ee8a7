using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.RegistryStorage;

/// <summary>
/// A sweep read from the registry's storage instead of its API: the repositories and tags as distribution's
/// catalog and <c>tags/list</c> list them, a tag resolved as the registry resolves it (its current link, then the
/// revision link and the manifest's data: any of them gone is the registry's 404).
/// </summary>
public sealed class StorageSweepSource(IRegistryStorage storage, int maxManifestBytes, TimeProvider time) : ISweepSource
{
    public async Task<(IReadOnlyList<string> Repositories, string? Error)> ListRepositoriesAsync(CancellationToken cancellationToken)
    {
        var root = storage.CheckRoot();
        if (root.Outcome != StorageOutcome.Present)
            return ([], $"storage inaccessible: {root.Reason}");
        var repositories = new List<string>();
        try
        {
            await foreach (var repository in storage.ListRepositoriesAsync(withLayersOnly: false, cancellationToken))
                repositories.Add(repository);
        }
        catch (RegistryStorageException e)
        {
            return ([], $"storage listing incomplete: {e.Message}");
        }
        return (repositories, null);
    }

    public async Task<(List<string> Tags, string? Problem, bool NoTagsDirectory)> ListTagsAsync(string repository, CancellationToken cancellationToken)
    {
        var tags = new List<string>();
        try
        {
            await foreach (var tag in storage.ListTagsAsync(repository, cancellationToken))
                tags.Add(tag);
        }
        catch (RegistryStorageException e)
        {
            return (tags, $"tag listing failed: {e.Message}", false);
        }
        // The storage listing does not tell a missing tags directory from an empty one: only HTTP sweeps record it.
        return (tags, null, false);
    }

    public async Task<(string? Digest, ProbeResult Probe)> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        var current = await storage.ReadLinkAsync(RegistryStorageLayout.TagCurrentLinkPath(repository, tag), cancellationToken);
        if (current.Outcome != StorageOutcome.Present)
            return (null, Probe(current.Outcome, current.Reason));
        var digest = current.Value!;
        var revision = await storage.ReadLinkAsync(RegistryStorageLayout.RevisionLinkPath(repository, digest), cancellationToken);
        if (revision.Outcome != StorageOutcome.Present)
            return (null, Probe(revision.Outcome, revision.Reason));
        var data = await storage.StatBlobAsync(digest, readFirstByte: false, cancellationToken);
        return data.Outcome == StorageOutcome.Present ? (digest, ProbeResult.Present) : (null, Probe(data.Outcome, data.Reason));
    }

    public IProbeSource CreateProbes(string repository) => new StorageProbeSource(storage, repository, maxManifestBytes, time);

    private static ProbeResult Probe(StorageOutcome outcome, string? reason) => outcome == StorageOutcome.Missing
        ? new ProbeResult(ProbeOutcome.Missing, null, StorageProbeSource.ManifestUnknown, $"storage: {reason}")
        : ProbeResult.Indeterminate($"storage: {reason}");
}
