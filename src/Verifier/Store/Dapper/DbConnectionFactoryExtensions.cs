using System.Data.Common;

namespace RegistryIntegrity.Verifier.Store.Dapper;

internal static class DbConnectionFactoryExtensions
{
    public static async Task InTransactionAsync(this IDbConnectionFactory connections, Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
    }
}
