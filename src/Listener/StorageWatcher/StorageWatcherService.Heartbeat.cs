using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Listener.StorageWatcher;

public sealed partial class StorageWatcherService
{
    /// <summary>
    /// Tells the Verifier the watcher's state (<see cref="RegistryStorageWatcherStatus"/>) at once on every change and every
    /// <see cref="StorageWatcherOptions.HeartbeatInterval"/> otherwise, on the same send path as the removals but in a loop
    /// of its own: a failed or hanging heartbeat is logged and tried again at the next tick, and never holds up a removal.
    /// </summary>
    private async Task SendHeartbeatsAsync(CancellationToken stoppingToken)
    {
        var interval = _options.HeartbeatInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            status.Changes.TryRead(out _);
            if (status.Current is var (state, reason, since))
            {
                var now = time.GetUtcNow();
                var message = new RegistryStorageWatcherStatus
                {
                    Watcher = WatcherId, State = state, Reason = reason, Since = since, SentAt = now, HeartbeatInterval = interval,
                };
                // A broker that does not answer must not keep the next heartbeat (or a state change) from being tried.
                using var sendTimeout = new CancellationTokenSource(interval, time);
                using var send = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, sendTimeout.Token);
                try
                {
                    await SendOnceAsync(message, Guid.CreateVersion7(now), send.Token);
                    status.HeartbeatSent(now);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogHeartbeatFailed(logger, state, e.Message);
                }
            }
            await NextHeartbeatAsync(interval, stoppingToken);
        }
    }

    /// <summary>Returns after <paramref name="interval"/>, or as soon as the state changes.</summary>
    private async Task NextHeartbeatAsync(TimeSpan interval, CancellationToken stoppingToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var tick = Task.Delay(interval, time, wait.Token);
        var changed = status.Changes.WaitToReadAsync(wait.Token).AsTask();
        await Task.WhenAny(tick, changed);
        await wait.CancelAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the Verifier the watcher's state ({State}; tried again at the next heartbeat): {Reason}")]
    private static partial void LogHeartbeatFailed(ILogger logger, string state, string reason);
}
