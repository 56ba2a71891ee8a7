using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;
using RegistryIntegrity.Verifier.Store.Retention;

namespace RegistryIntegrity.Verifier.Store;

/// <summary>The checks of <see cref="StoreOptions"/> that span fields (ranges: data annotations).</summary>
public sealed class StoreOptionsValidator : IValidateOptions<StoreOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreOptions options) =>
        Problems(options).ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;

    private static IEnumerable<string> Problems(StoreOptions options)
    {
        // The store remembers when digests came and went for a day (a walk older than a deletion must not bring the
        // manifest back); a deleted manifest's row must outlive that, and anything kept must outlive an interval.
        var retention = options.Retention;
        foreach (var (member, period) in new[]
                 {
                     (nameof(RetentionOptions.VerdictHistory), retention.VerdictHistory), (nameof(RetentionOptions.ProcessedEvents), retention.ProcessedEvents),
                     (nameof(RetentionOptions.DeletedManifests), retention.DeletedManifests), (nameof(RetentionOptions.Sweeps), retention.Sweeps),
                 })
        {
            if (period != TimeSpan.Zero && period < TimeSpan.FromDays(1))
                yield return $"{RetentionOptions.SectionName}:{member} must be 0 (keep forever) or at least 1.00:00:00 (got {period}).";
        }
        if (ConnectionStringProblem(options) is { } problem)
            yield return problem;
    }

    /// <summary>The connection string must parse as one of <see cref="StoreOptions.Provider"/>'s and name its database.</summary>
    private static string? ConnectionStringProblem(StoreOptions store)
    {
        const string key = $"{StoreOptions.SectionName}:{nameof(StoreOptions.ConnectionString)}";
        try
        {
            if (store.Provider == StoreProvider.Postgres)
            {
                var postgres = new NpgsqlConnectionStringBuilder(store.ConnectionString);
                if (string.IsNullOrWhiteSpace(postgres.Host))
                    return $"{key} names no Host: expected a PostgreSQL connection string such as Host=db;Database=verifier;Username=verifier;Password=...";
            }
            else if (string.IsNullOrWhiteSpace(new SqliteConnectionStringBuilder(store.ConnectionString).DataSource))
                return $"{key} names no Data Source: expected a SQLite connection string such as Data Source=/data/verifier.db";
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            // The message names the offending keyword; the value is not echoed (it may hold a password).
            return $"{key} is not a valid {store.Provider} connection string: {e.Message.Split('\n')[0].Trim()}";
        }
    }
}
