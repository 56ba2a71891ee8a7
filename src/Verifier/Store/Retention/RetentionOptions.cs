using System.ComponentModel.DataAnnotations;

namespace RegistryIntegrity.Verifier.Store.Retention;

/// <summary>How long the store keeps what only grows. A period of 0 keeps that kind forever.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Store:Retention";

    /// <summary>Rows of <c>verdict_history</c> (what <c>/v1/manifests</c> shows as history) older than this are pruned.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan VerdictHistory { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Processed events older than this are pruned: the window <c>replay-events</c> can replay from the store.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan ProcessedEvents { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Manifests deleted longer ago than this lose their row, their references and their history.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan DeletedManifests { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Sweeps started longer ago than this are pruned (the last completed one is always kept).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan Sweeps { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often a Verifier prunes. Replicas may prune at once: every deletion is idempotent.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows deleted per statement, so that pruning never holds long locks.</summary>
    [Range(100, 100_000)]
    public int BatchSize { get; set; } = 5000;

    /// <summary>The cut-off for a retention period at <paramref name="now"/>; null keeps everything.</summary>
    public static DateTimeOffset? CutOff(TimeSpan period, DateTimeOffset now) => period == TimeSpan.Zero ? null : now - period;
}
