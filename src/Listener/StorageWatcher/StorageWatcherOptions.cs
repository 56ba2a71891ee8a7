using System.ComponentModel.DataAnnotations;

namespace RegistryIntegrity.Listener.StorageWatcher;

/// <summary>The <c>watch-storage</c> mode: watch a registry's filesystem storage (read-only) and report removals.</summary>
public sealed class StorageWatcherOptions
{
    public const string SectionName = "StorageWatcher";

    /// <summary>The registry's <c>storage.filesystem.rootdirectory</c> (the folder holding <c>docker/registry/v2</c>), mounted read-only.</summary>
    [Required]
    public string? Root { get; set; }

    /// <summary>Removals seen within this window after the first one go out as one message (GC removes thousands per second).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:05")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A batch larger than this is sent as several messages, so no message grows without bound.</summary>
    [Range(1, 100_000)]
    public int MaxRemovalsPerMessage { get; set; } = 5000;

    /// <summary>
    /// Removals kept while the broker cannot take them; beyond this they are dropped and a reconciling sweep is
    /// requested once the broker is back (memory stays bounded during a GC with the broker down).
    /// </summary>
    [Range(1000, 10_000_000)]
    public int MaxPendingRemovals { get; set; } = 500_000;

    /// <summary>
    /// Directories the watcher may watch (one inotify watch each). 0: 90 % of the kernel's
    /// <c>fs.inotify.max_user_watches</c>. A tree with more directories is not watched: the watcher says so and falls back to sweeps.
    /// </summary>
    [Range(0, 100_000_000)]
    public int MaxWatches { get; set; }

    /// <summary>
    /// Watch a network or FUSE filesystem all the same (NFS, SMB, CephFS, ...): only when every writer of the storage
    /// (the registry, its GC, cleanup jobs) runs on this host, because changes made by other hosts raise no inotify events.
    /// </summary>
    public bool WatchNetworkFilesystem { get; set; }

    /// <summary>How often the root is checked for being replaced, remounted or gone (and a lost watch re-established).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan RootCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>While the storage cannot be watched, a sweep is requested this often.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan FallbackSweepInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How often the watcher tells the Verifier its state (<c>RegistryStorageWatcherStatus</c>) while nothing changes; a change
    /// is sent at once. The Verifier calls a watcher silent after 3 intervals without one.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);
}
