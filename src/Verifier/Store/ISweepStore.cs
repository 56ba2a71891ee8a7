using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Store;

public sealed record SweepProgress(
    Guid Id,
    string Trigger,
    DateTimeOffset StartedAt,
    DateTimeOffset? EnumeratedAt,
    DateTimeOffset? CompletedAt,
    int? RepositoriesTotal,
    int RepositoriesDone,
    int ManifestsChecked,
    int TagsSeen,
    string? CatalogError)
{
    public string Status => CatalogError is not null ? "failed" : CompletedAt is not null ? "completed" : EnumeratedAt is not null ? "running" : "enumerating";
}

/// <summary>Sweeps, their progress, and what a sweep reconciles: tags, repositories, registry instances, stored events.</summary>
public interface ISweepStore
{
    Task StartSweepAsync(Guid id, string trigger, DateTimeOffset startedAt, CancellationToken cancellationToken);

    /// <summary>The catalog was enumerated: <paramref name="repositories"/> messages were sent.</summary>
    Task<SweepProgress> SetEnumeratedAsync(Guid id, int repositories, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>The catalog could not be read: the sweep ends without touching any verdict.</summary>
    Task FailSweepAsync(Guid id, string catalogError, DateTimeOffset at, CancellationToken cancellationToken);

    Task<SweepProgress> RepositoryDoneAsync(Guid id, int manifestsChecked, int tagsSeen, DateTimeOffset at, CancellationToken cancellationToken);

    Task<SweepProgress?> GetSweepAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>The <paramref name="limit"/> most recently started sweeps, newest first.</summary>
    Task<IReadOnlyList<SweepProgress>> ListSweepsAsync(int limit, CancellationToken cancellationToken);

    Task<SweepProgress?> GetLatestSweepAsync(bool completedOnly, CancellationToken cancellationToken);

    /// <summary>Repositories with live manifests or tags, least recently verified first.</summary>
    /// <summary>Whether the repository's tag listing answered 404 (no tags directory), as of <paramref name="listedAt"/>: the GC forecast reads it.</summary>
    Task RecordTagDirectoryAsync(string repository, bool tagsMissing, DateTimeOffset listedAt, CancellationToken cancellationToken);

    /// <summary>How many repositories <see cref="ListRepositoriesAsync"/> would list, counted in the store.</summary>
    Task<long> CountRepositoriesAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> ListRepositoriesAsync(CancellationToken cancellationToken);

    /// <summary>Live manifests of a repository that have a verdict (walked roots), and deleted ones pushed again since.</summary>
    Task<IReadOnlyList<string>> ListVerifiedManifestsAsync(string repository, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the repository's tags exactly <paramref name="tags"/> (tag -> digest) and its dangling tags exactly
    /// <paramref name="danglingTags"/> (listed, but their manifest answers 404), as listed at <paramref name="listedAt"/>;
    /// ignored (false) when a later listing was reconciled already. A tag pushed after the listing is kept.
    /// </summary>
    Task<bool> ReconcileTagsAsync(
        string repository, IReadOnlyDictionary<string, string> tags, IReadOnlyCollection<string> danglingTags, DateTimeOffset listedAt,
        CancellationToken cancellationToken);

    /// <summary>True when the registry instance id was never seen before (the registry restarted).</summary>
    Task<bool> RecordInstanceAsync(string instanceId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Live manifests plus the distinct objects referenced: about what a full sweep requests. References of deleted
    /// manifests count until retention prunes them (<c>Store:Retention:DeletedManifests</c>); leaving them out here
    /// took 4.6 times as long at a million manifests (benchmarks/store).
    /// </summary>
    Task<long> CountInventoryAsync(CancellationToken cancellationToken);
}
