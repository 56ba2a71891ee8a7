using System.Data.Common;
using Dapper;

namespace RegistryIntegrity.Verifier.Store.Dapper;

internal static class DbConnectionFactoryExtensions
{
    /// <summary>Runs a <c>DELETE ... LIMIT @batchSize</c> with <c>@cutOff</c> until it deletes less than a batch; each batch is a write transaction of its own.</summary>
    /// <returns>How many rows were deleted.</returns>
    public static async Task<long> DeleteInBatchesAsync(this IDbConnectionFactory connections, string sql, DateTimeOffset cutOff, int batchSize, CancellationToken cancellationToken)
    {
        long total = 0;
        int deleted;
        do
        {
            deleted = 0;
            await connections.InTransactionAsync(async (connection, transaction) => deleted = await connection.ExecuteAsync(new CommandDefinition(
                sql, new { cutOff = cutOff.ToUnixTimeMilliseconds(), batchSize }, transaction, cancellationToken: cancellationToken)), cancellationToken);
            total += deleted;
        }
        while (deleted == batchSize);
        return total;
    }
}
