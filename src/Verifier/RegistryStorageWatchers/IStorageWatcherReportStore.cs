namespace RegistryIntegrity.Verifier.RegistryStorageWatchers;

/// <summary>
/// The last state a storage watcher reported, as the Verifier keeps it.
/// <paramref name="LastHeardAt"/> is the watcher's send time, capped at the Verifier's clock when it arrived.
/// </summary>
public sealed record StorageWatcherReport(
    string Watcher, string State, string? Reason, DateTimeOffset Since, DateTimeOffset LastHeardAt, TimeSpan HeartbeatInterval);

/// <summary>Where the watchers' reports are kept: one row per watcher, the newest report wins (SQLite and PostgreSQL alike).</summary>
public interface IStorageWatcherReportStore
{
    /// <summary>Keeps <paramref name="report"/> unless the watcher's stored report is newer; false when it was older and dropped.</summary>
    Task<bool> RecordAsync(StorageWatcherReport report, CancellationToken cancellationToken);

    /// <summary>Every watcher last heard at or after <paramref name="since"/>, by watcher id.</summary>
    Task<IReadOnlyList<StorageWatcherReport>> ListHeardSinceAsync(DateTimeOffset since, CancellationToken cancellationToken);
}
