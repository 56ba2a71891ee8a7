using System.Threading.Channels;
using Prometheus;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Listener.Monitoring;

namespace RegistryIntegrity.Listener.StorageWatcher;

/// <summary>What the watcher is doing, for <c>/v1/status</c>, the metrics and the log; one instance per process.</summary>
public sealed class StorageWatcherStatus
{
    private readonly Lock _lock = new();
    private readonly Gauge _watching;
    private readonly Gauge _watches;
    private string _state = "starting";
    private string? _reason;
    private DateTimeOffset? _since;
    private DateTimeOffset? _lastBatchAt;
    private DateTimeOffset? _lastSweepRequestedAt;
    private string? _lastSweepTrigger;
    private DateTimeOffset? _lastHeartbeatAt;
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public StorageWatcherStatus(ListenerMetrics listenerMetrics)
    {
        var factory = Metrics.WithCustomRegistry(listenerMetrics.Registry);
        _watching = factory.CreateGauge("registry_integrity_storage_watcher_watching",
            "1 while every directory of the registry's storage is watched; 0 when it cannot be (watch limit, root missing or replaced): sweeps are requested instead.");
        _watches = factory.CreateGauge("registry_integrity_storage_watcher_watched_directories",
            "Directories of the storage watched (one inotify watch each) when the watch was last set up.");
        Removals = factory.CreateCounter("registry_integrity_storage_watcher_removals_total",
            "Objects seen removed from the registry's storage, by kind (revision, tag, blob, layer-link).", "kind");
        Batches = factory.CreateCounter("registry_integrity_storage_watcher_messages_total",
            "Messages sent to the Verifier, each carrying the removals of one window.");
        PublishFailures = factory.CreateCounter("registry_integrity_storage_watcher_publish_failures_total",
            "Sends the broker did not confirm (retried).");
        Dropped = factory.CreateCounter("registry_integrity_storage_watcher_dropped_total",
            "Removals lost: the kernel's event queue overflowed, or more were pending than StorageWatcher:MaxPendingRemovals; a sweep is requested for them.");
        SweepRequests = factory.CreateCounter("registry_integrity_storage_watcher_sweep_requests_total",
            "Sweeps requested by the watcher, by trigger (start, reconnect, overflow, fallback).", "trigger");
        Latency = factory.CreateHistogram("registry_integrity_storage_watcher_removal_to_send_seconds",
            "From the first removal of a batch being seen to its message being confirmed by the broker.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 12) });
    }

    public Counter Removals { get; }
    public Counter Batches { get; }
    public Counter PublishFailures { get; }
    public Counter Dropped { get; }
    public Counter SweepRequests { get; }
    public Histogram Latency { get; }

    public string Root { get; set; } = "";

    public bool IsWatching
    {
        get { lock (_lock) return _state == RegistryStorageWatcherStates.Watching; }
    }

    /// <summary>Signalled when the state or its reason changes (at most one pending signal): the heartbeat goes out at once.</summary>
    public ChannelReader<bool> Changes => _changes.Reader;

    /// <summary>The state, its reason and since when; null until the first check decided it.</summary>
    public (string State, string? Reason, DateTimeOffset Since)? Current
    {
        get { lock (_lock) return _since is { } since ? (_state, _reason, since) : null; }
    }

    public void Watching(int directories, DateTimeOffset at)
    {
        lock (_lock)
        {
            (_state, _reason, _since) = (RegistryStorageWatcherStates.Watching, null, at);
            _watching.Set(1);
            _watches.Set(directories);
        }
        _changes.Writer.TryWrite(true);
    }

    public void NotWatching(string reason, DateTimeOffset at)
    {
        var changed = false;
        lock (_lock)
        {
            if (_state != RegistryStorageWatcherStates.NotWatching || _reason != reason)
            {
                (_state, _reason, _since) = (RegistryStorageWatcherStates.NotWatching, reason, at);
                changed = true;
            }
            _watching.Set(0);
            _watches.Set(0);
        }
        if (changed)
            _changes.Writer.TryWrite(true);
    }

    public void HeartbeatSent(DateTimeOffset at)
    {
        lock (_lock)
            _lastHeartbeatAt = at;
    }

    public void BatchSent(DateTimeOffset at)
    {
        lock (_lock)
            _lastBatchAt = at;
    }

    public void SweepRequested(string trigger, DateTimeOffset at)
    {
        lock (_lock)
            (_lastSweepRequestedAt, _lastSweepTrigger) = (at, trigger);
        SweepRequests.WithLabels(trigger).Inc();
    }

    public object Snapshot()
    {
        lock (_lock)
        {
            return new
            {
                mode = "watch-storage",
                root = Root,
                state = _state,
                reason = _reason,
                since = _since,
                watchedDirectories = (long)_watches.Value,
                lastMessageAt = _lastBatchAt,
                lastHeartbeatAt = _lastHeartbeatAt,
                messages = (long)Batches.Value,
                removalsDropped = (long)Dropped.Value,
                lastSweepRequest = _lastSweepRequestedAt is null ? null : new { at = _lastSweepRequestedAt, trigger = _lastSweepTrigger },
            };
        }
    }
}
