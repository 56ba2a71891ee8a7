namespace RegistryIntegrity.Listener.Monitoring;

/// <summary>
/// Notices registry restarts: <c>source.instanceID</c> changes whenever a registry process starts,
/// and events still queued in the old process are lost. The first id ever seen counts too (the
/// Listener cannot know what happened before it started). Only the last few ids are remembered,
/// so memory stays bounded whatever the registries send; several registry replicas behind one
/// Listener are each counted once as long as there are fewer of them than <see cref="Remembered"/>.
/// </summary>
public sealed class SourceInstanceTracker(ListenerMetrics metrics, TimeProvider time)
{
    public const int Remembered = 16;

    private readonly string?[] _recent = new string?[Remembered];
    private readonly Lock _lock = new();
    private int _next;
    private volatile string? _last;

    public void Observe(string? instanceId)
    {
        if (instanceId is null || instanceId == _last)
            return;
        lock (_lock)
        {
            _last = instanceId;
            if (Array.IndexOf(_recent, instanceId) >= 0)
                return;
            _recent[_next] = instanceId;
            _next = (_next + 1) % Remembered;
        }
        metrics.SourceInstanceChanges.Inc();
        metrics.LastSourceInstanceChange.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
    }
}
