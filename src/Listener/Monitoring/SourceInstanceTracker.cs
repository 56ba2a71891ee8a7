namespace RegistryIntegrity.Listener.Monitoring;

/// <summary>
/// Notices registry restarts: <c>source.instanceID</c> changes whenever a registry process starts,
/// and events still queued in the old process are lost. The first id this process sees does not
/// count: after a Listener restart it is almost always the registry instance that was already
/// running (a registry restarted at the same moment is caught by the Verifier, which remembers
/// instances in its store and sweeps for a new one). Only the last few ids are remembered,
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
            var first = _last is null && _next == 0 && _recent[0] is null;
            _last = instanceId;
            if (Array.IndexOf(_recent, instanceId) >= 0)
                return;
            _recent[_next] = instanceId;
            _next = (_next + 1) % Remembered;
            if (first)
                return;
        }
        metrics.SourceInstanceChanges.Inc();
        metrics.LastSourceInstanceChange.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
    }
}
