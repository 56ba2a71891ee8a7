using System.Data.Common;
using Dapper;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>
/// When each tag was last pushed and last deleted, by the registry's event time (table <c>tag_changes</c>): events
/// about one tag are applied in the order the registry saw them, whatever order the competing consumers (or the
/// storage watcher) deliver them in. Ties go to the deletion: a tag cannot be deleted before it was pushed.
/// </summary>
internal static class TagChanges
{
    /// <summary>Records a push of the tag at <paramref name="pushedMs"/>.</summary>
    /// <returns>True when the tag now points where this push says: no deletion or other push of the tag is as new.</returns>
    public static async Task<bool> RecordPushAsync(DbConnection connection, DbTransaction transaction, string repository, string tag, long pushedMs)
    {
        // The upsert locks the row until the transaction ends (SQLite's transaction holds the database), so what is
        // read next cannot change before the tag itself is written.
        var (pushed, deleted) = await RecordAsync(connection, transaction, repository, tag, deleted: false, pushedMs);
        return pushed == pushedMs && !(deleted >= pushedMs);
    }

    /// <summary>Records a deletion of the tag at <paramref name="deletedMs"/> (its tombstone).</summary>
    /// <returns>True when the tag's row goes: it was not pushed again after this deletion.</returns>
    public static async Task<bool> RecordDeletionAsync(DbConnection connection, DbTransaction transaction, string repository, string tag, long deletedMs)
    {
        var (pushed, _) = await RecordAsync(connection, transaction, repository, tag, deleted: true, deletedMs);
        return !(pushed > deletedMs);
    }

    /// <summary>Tags of <paramref name="repository"/> deleted at or after <paramref name="listedMs"/>: a listing that old must not bring them back.</summary>
    public static async Task<IReadOnlySet<string>> DeletedSinceAsync(DbConnection connection, DbTransaction transaction, string repository, long listedMs) =>
        (await connection.QueryAsync<string>(
            "SELECT tag FROM tag_changes WHERE repository = @repository AND deleted_ms >= @listedMs", new { repository, listedMs }, transaction))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// A tag directory the storage watcher saw removed before this push event was processed was recorded without a
    /// digest: the newest push before the removal names the manifest the tag held (the GC forecast reads it).
    /// </summary>
    public static Task FillRemovedTagDigestAsync(DbConnection connection, DbTransaction transaction, string repository, string tag, string digest, long pushedMs) =>
        connection.ExecuteAsync("""
            UPDATE registry_storage_tag_removals SET digest = @digest, digest_pushed_ms = @pushedMs
            WHERE repository = @repository AND tag = @tag AND removed_ms >= @pushedMs
              AND (digest IS NULL OR digest_pushed_ms < @pushedMs)
            """, new { repository, tag, digest, pushedMs }, transaction);

    private static async Task<(long? Pushed, long? Deleted)> RecordAsync(
        DbConnection connection, DbTransaction transaction, string repository, string tag, bool deleted, long at)
    {
        await ChangeTimes.RecordAsync(connection, transaction, "tag_changes", "tag", repository, tag, deleted, at);
        return await connection.QuerySingleAsync<(long?, long?)>(
            "SELECT pushed_ms, deleted_ms FROM tag_changes WHERE repository = @repository AND tag = @tag", new { repository, tag }, transaction);
    }
}
