using System.Data.Common;
using Dapper;

namespace RegistryIntegrity.Verifier.Store.Dapper;

/// <summary>
/// When an object last came (a push) and went (a delete), by the registry's time: a digest in <c>digest_changes</c>,
/// a tag in <c>tag_changes</c>. Each time only moves forward. A row is kept for a day after its last change.
/// </summary>
internal static class ChangeTimes
{
    public static readonly TimeSpan Kept = TimeSpan.FromDays(1);

    /// <param name="table">The table, whose key is (repository, <paramref name="keyColumn"/>).</param>
    public static async Task RecordAsync(
        DbConnection connection, DbTransaction transaction, string table, string keyColumn, string repository, string key, bool deleted, long at)
    {
        var column = deleted ? "deleted_ms" : "pushed_ms";
        await connection.ExecuteAsync($"""
            INSERT INTO {table} (repository, {keyColumn}, {column}, changed_ms) VALUES (@repository, @key, @at, @at)
            ON CONFLICT (repository, {keyColumn}) DO UPDATE SET
                {column} = CASE WHEN {table}.{column} > excluded.{column} THEN {table}.{column} ELSE excluded.{column} END,
                changed_ms = CASE WHEN {table}.changed_ms > excluded.changed_ms THEN {table}.changed_ms ELSE excluded.changed_ms END
            """, new { repository, key, at }, transaction);
        await connection.ExecuteAsync(
            $"DELETE FROM {table} WHERE changed_ms < @oldest", new { oldest = at - (long)Kept.TotalMilliseconds }, transaction);
    }
}
