namespace RegistryIntegrity.Contracts.RegistryStorage;

/// <summary>The two states a storage watcher reports in <see cref="RegistryStorageWatcherStatus.State"/>.</summary>
public static class RegistryStorageWatcherStates
{
    /// <summary>Every directory of the storage is watched: removals are heard within a second.</summary>
    public const string Watching = "watching";

    /// <summary>It cannot watch (watch limit, root missing, replaced or remounted, kernel refusal): it falls back to sweeps.</summary>
    public const string NotWatching = "not-watching";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Watching, NotWatching };
}

/// <summary>
/// A storage watcher's heartbeat, sent on the events queue on every change of its state and every
/// <see cref="HeartbeatInterval"/>, so the Verifier can tell whether storage removals are being heard, by whom
/// and since when. A watcher not heard for 3 intervals is silent (died, or cannot reach the broker).
/// It never changes a verdict.
/// </summary>
public sealed record RegistryStorageWatcherStatus
{
    /// <summary>Longer watcher ids are refused by the Verifier.</summary>
    public const int MaxWatcherLength = 512;

    /// <summary>Longer reasons are cut by the Verifier.</summary>
    public const int MaxReasonLength = 1000;

    /// <summary>Which watcher: <c>{machine}:{root}</c>, the same string as <see cref="RegistryStorageRemoved.Watcher"/> (see <see cref="WatcherId"/>).</summary>
    public required string Watcher { get; init; }

    /// <summary>One of <see cref="RegistryStorageWatcherStates"/>.</summary>
    public required string State { get; init; }

    /// <summary>Why it is not watching; null while watching.</summary>
    public string? Reason { get; init; }

    /// <summary>When this state (with this reason) began.</summary>
    public required DateTimeOffset Since { get; init; }

    /// <summary>When the watcher sent this message: the newest one wins.</summary>
    public required DateTimeOffset SentAt { get; init; }

    /// <summary>How often the watcher sends this message while nothing changes.</summary>
    public required TimeSpan HeartbeatInterval { get; init; }

    /// <summary>The id a watcher on <paramref name="machine"/> watching <paramref name="root"/> gives itself in every message.</summary>
    public static string WatcherId(string machine, string root) => $"{machine}:{root}";
}
