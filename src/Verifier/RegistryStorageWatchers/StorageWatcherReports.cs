using System.Diagnostics.CodeAnalysis;
using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Verifier.RegistryStorageWatchers;

/// <summary>What <c>/v1/status</c> shows of one storage watcher.</summary>
public sealed record StorageWatcherView(
    string Id, string State, string? Reason, DateTimeOffset Since, DateTimeOffset LastHeardAt, TimeSpan HeartbeatInterval, bool Silent);

/// <summary>Turns a watcher's message (anything the broker delivers) into a report, and a stored report into what is shown.</summary>
public static class StorageWatcherReports
{
    /// <summary>Watchers heard within this are listed; older ones are gone from the status and the gauge.</summary>
    public static readonly TimeSpan Listed = TimeSpan.FromHours(24);

    /// <summary>A watcher not heard for this many of its intervals is silent: it died or cannot reach the broker.</summary>
    public const int SilentAfterIntervals = 3;

    /// <summary>The longest heartbeat interval accepted (the watcher allows at most an hour).</summary>
    public static readonly TimeSpan MaxHeartbeatInterval = TimeSpan.FromDays(1);

    /// <summary>
    /// The report to keep, or why <paramref name="message"/> is refused: an id empty, longer than
    /// <see cref="RegistryStorageWatcherStatus.MaxWatcherLength"/> or with control characters, a state other than the two,
    /// an interval not in (0, 1 day]. A long reason is cut to <see cref="RegistryStorageWatcherStatus.MaxReasonLength"/>;
    /// a send time later than <paramref name="now"/> is capped at it, a start later than the send time at that.
    /// </summary>
    public static bool TryRead(RegistryStorageWatcherStatus? message, DateTimeOffset now,
        [NotNullWhen(true)] out StorageWatcherReport? report, [NotNullWhen(false)] out string? problem)
    {
        report = null;
        problem = message switch
        {
            null => "no message",
            _ when string.IsNullOrWhiteSpace(message.Watcher) => "no watcher id",
            { Watcher.Length: > RegistryStorageWatcherStatus.MaxWatcherLength } => $"a watcher id longer than {RegistryStorageWatcherStatus.MaxWatcherLength} characters",
            _ when message.Watcher.Any(char.IsControl) => "a watcher id with control characters",
            _ when !RegistryStorageWatcherStates.All.Contains(message.State) => "a state other than watching or not-watching",
            _ when message.HeartbeatInterval <= TimeSpan.Zero || message.HeartbeatInterval > MaxHeartbeatInterval => "a heartbeat interval outside (0, 1 day]",
            _ => null,
        };
        if (problem is not null)
            return false;
        var sentAt = message!.SentAt > now ? now : message.SentAt;
        var reason = message.State == RegistryStorageWatcherStates.Watching ? null
            : message.Reason is { Length: > RegistryStorageWatcherStatus.MaxReasonLength } cut ? cut[..RegistryStorageWatcherStatus.MaxReasonLength]
            : message.Reason;
        report = new StorageWatcherReport(message.Watcher, message.State, reason, message.Since > sentAt ? sentAt : message.Since, sentAt, message.HeartbeatInterval);
        return true;
    }

    public static StorageWatcherView View(StorageWatcherReport report, DateTimeOffset now) => new(
        report.Watcher, report.State, report.Reason, report.Since, report.LastHeardAt, report.HeartbeatInterval,
        Silent: now - report.LastHeardAt >= report.HeartbeatInterval * SilentAfterIntervals);
}

/// <summary>The watchers heard within <see cref="StorageWatcherReports.Listed"/>, as of now: for the status and the gauge.</summary>
public sealed class HeardStorageWatchers(IStorageWatcherReportStore store, TimeProvider time)
{
    public async Task<IReadOnlyList<StorageWatcherView>> ListAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var reports = await store.ListHeardSinceAsync(now - StorageWatcherReports.Listed, cancellationToken);
        return reports.Select(r => StorageWatcherReports.View(r, now)).ToList();
    }
}
