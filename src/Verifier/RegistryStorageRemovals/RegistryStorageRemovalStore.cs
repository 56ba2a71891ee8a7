using Dapper;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;

namespace RegistryIntegrity.Verifier.RegistryStorageRemovals;

/// <summary>A tag directory removed from the registry's storage, as recorded.</summary>
/// <param name="Digest">What the tag last resolved to, when the verdict store knew it.</param>
public sealed record TagRemoval(string Repository, string Tag, string? Digest, DateTimeOffset RemovedAt);

/// <summary>A live stored manifest that is, or references, a removed blob.</summary>
/// <param name="IsManifest">The blob is the manifest itself (its bytes are gone), not one of its children, config or layers.</param>
public sealed record BlobHolder(string Repository, string Digest, bool IsManifest);

/// <summary>What the verdict store keeps about removals seen on the registry's storage (SQLite and PostgreSQL alike).</summary>
public sealed class RegistryStorageRemovalStore(IDbConnectionFactory connections, TimeProvider time)
{
    /// <summary>Digests per query: well under SQLite's and PostgreSQL's parameter limits.</summary>
    private const int DigestsPerQuery = 500;

    /// <summary>Removals of one tag this close together are one removal seen in two windows.</summary>
    private const long SameRemovalWithinMs = 10_000;

    /// <summary>Records each removal once (the same removal delivered twice is one row), with the digest the tag last resolved to.</summary>
    public async Task RecordTagRemovalsAsync(IReadOnlyCollection<TagRemoval> removals, CancellationToken cancellationToken)
    {
        if (removals.Count == 0)
            return;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await connections.InTransactionAsync(async (connection, transaction) =>
        {
            foreach (var removal in removals)
            {
                // The folder's files and the folder itself may arrive in two messages (two windows): one removal.
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO registry_storage_tag_removals (repository, tag, digest, removed_ms, recorded_ms)
                    SELECT @Repository, @Tag, COALESCE(@Digest, (SELECT digest FROM tags WHERE repository = @Repository AND tag = @Tag)), @removed, @now
                    WHERE NOT EXISTS (SELECT 1 FROM registry_storage_tag_removals
                                      WHERE repository = @Repository AND tag = @Tag AND removed_ms BETWEEN @removed - @sameWithin AND @removed + @sameWithin)
                    """, new { removal.Repository, removal.Tag, removal.Digest, removed = removal.RemovedAt.ToUnixTimeMilliseconds(), now, sameWithin = SameRemovalWithinMs },
                    transaction, cancellationToken: cancellationToken));
            }
        }, cancellationToken);
    }

    /// <summary>Tag removals recorded since <paramref name="since"/>, oldest first.</summary>
    public async Task<IReadOnlyList<TagRemoval>> ListTagRemovalsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<TagRemovalRow>(new CommandDefinition("""
            SELECT repository AS Repository, tag AS Tag, digest AS Digest, removed_ms AS RemovedMs FROM registry_storage_tag_removals
            WHERE removed_ms >= @since ORDER BY removed_ms, repository, tag LIMIT @limit
            """, new { since = since.ToUnixTimeMilliseconds(), limit }, cancellationToken: cancellationToken));
        return rows.Select(r => new TagRemoval(r.Repository, r.Tag, r.Digest, DateTimeOffset.FromUnixTimeMilliseconds(r.RemovedMs))).ToList();
    }

    /// <summary>Live stored manifests, in any repository, that are one of <paramref name="digests"/> or reference one directly.</summary>
    public async Task<IReadOnlyList<BlobHolder>> FindHoldersAsync(IReadOnlyCollection<string> digests, CancellationToken cancellationToken)
    {
        var holders = new List<BlobHolder>();
        await using var connection = await connections.OpenAsync(cancellationToken);
        // Npgsql takes the list as one array parameter; for SQLite Dapper expands it into one parameter per digest.
        var inChunk = connections.Provider == StoreProvider.Postgres ? "= ANY(@chunk)" : "IN @chunk";
        foreach (var chunk in digests.Distinct(StringComparer.Ordinal).Chunk(DigestsPerQuery))
        {
            // Two plain queries: SQLite cannot type a constant column of a UNION reliably for the mapper.
            var referencing = await connection.QueryAsync<(string Repository, string Digest)>(new CommandDefinition($"""
                SELECT DISTINCT r.repository, r.child_digest
                FROM manifest_references r JOIN manifests m ON m.repository = r.repository AND m.digest = r.parent_digest
                WHERE r.child_digest {inChunk} AND m.deleted_ms IS NULL
                """, new { chunk }, cancellationToken: cancellationToken));
            holders.AddRange(referencing.Select(r => new BlobHolder(r.Repository, r.Digest, IsManifest: false)));
            var themselves = await connection.QueryAsync<(string Repository, string Digest)>(new CommandDefinition($"""
                SELECT repository, digest FROM manifests WHERE digest {inChunk} AND deleted_ms IS NULL
                """, new { chunk }, cancellationToken: cancellationToken));
            holders.AddRange(themselves.Select(r => new BlobHolder(r.Repository, r.Digest, IsManifest: true)));
        }
        return holders;
    }

    private sealed record TagRemovalRow(string Repository, string Tag, string? Digest, long RemovedMs);

}
