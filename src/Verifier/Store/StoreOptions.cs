using System.ComponentModel.DataAnnotations;
using RegistryIntegrity.Verifier.Store.Retention;

namespace RegistryIntegrity.Verifier.Store;

public enum StoreProvider { Sqlite, Postgres }

public sealed class StoreOptions
{
    public const string SectionName = "Store";

    public StoreProvider Provider { get; set; } = StoreProvider.Sqlite;

    /// <summary>SQLite: <c>Data Source=verifier.db</c>. PostgreSQL: an Npgsql connection string.</summary>
    [Required]
    public string ConnectionString { get; set; } = "Data Source=verifier.db";

    public RetentionOptions Retention { get; set; } = new();
}
