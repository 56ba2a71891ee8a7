using Dapper;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>Records, from each sweep's tag listing, whether a repository has a tags directory (the GC forecast needs it).</summary>
public sealed class TagDirectories(IDbConnectionFactory connections)
{
    /// <param name="tagsMissing">The listing answered 404 NAME_UNKNOWN: no <c>_manifests/tags</c>.</param>
    public async Task RecordAsync(string repository, bool tagsMissing, DateTimeOffset listedAt, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO tag_directories (repository, tags_missing, listed_ms) VALUES (@repository, @missing, @listed)
            ON CONFLICT (repository) DO UPDATE SET tags_missing = excluded.tags_missing, listed_ms = excluded.listed_ms
            WHERE tag_directories.listed_ms <= excluded.listed_ms
            """, new { repository, missing = tagsMissing ? 1 : 0, listed = listedAt.ToUnixTimeMilliseconds() }, cancellationToken: cancellationToken));
    }
}
