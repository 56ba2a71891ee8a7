using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Listener.Publishing;

namespace RegistryIntegrity.Listener.StorageWatcher;

/// <summary>
/// Watches the registry's filesystem storage and sends what was removed, one <see cref="RegistryStorageRemoved"/>
/// per short window, on the events queue. On start (and whenever the watch is set up again: root replaced,
/// remounted, watch lost) it asks for one reconciling sweep, because removals while nobody watched were missed.
/// While it cannot watch it says so (state, metric, log) and asks for a sweep every <see cref="StorageWatcherOptions.FallbackSweepInterval"/>.
/// </summary>
public sealed partial class StorageWatcherService(
    IOptions<StorageWatcherOptions> options, IBus bus, EventsQueue eventsQueue, StorageWatcherStatus status, TimeProvider time,
    ILogger<StorageWatcherService> logger) : BackgroundService
{
    private readonly StorageWatcherOptions _options = options.Value;
    private readonly Channel<(string Path, DateTimeOffset At)> _seen = Channel.CreateBounded<(string, DateTimeOffset)>(
        new BoundedChannelOptions(options.Value.MaxPendingRemovals) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Lock _lock = new();
    private StorageTreeWatch? _watch;
    private string? _identity;
    private Exception? _failure;
    private volatile bool _eventsLost;
    private bool _startSweepDue = true;
    private bool _everWatched;
    private string? _notWatchingReason;
    private DateTimeOffset _lastFallbackSweep = DateTimeOffset.MinValue;

    private string Tree => RegistryStorageLayout.ToFullPath(_options.Root!, RegistryStorageLayout.V2);

    private string WatcherId => RegistryStorageWatcherStatus.WatcherId(Environment.MachineName, _options.Root!);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        status.Root = _options.Root!;
        return Task.WhenAll(
            Task.Run(() => SendRemovalsAsync(stoppingToken), stoppingToken),
            Task.Run(() => KeepWatchingAsync(stoppingToken), stoppingToken),
            Task.Run(() => SendHeartbeatsAsync(stoppingToken), stoppingToken));
    }

    public override void Dispose()
    {
        _watch?.Dispose();
        base.Dispose();
    }

    private void OnRemoved(string fullPath)
    {
        if (!_seen.Writer.TryWrite((fullPath, time.GetUtcNow())))
        {
            status.Dropped.Inc();
            _eventsLost = true;
        }
    }

    private void OnFailed(Exception exception)
    {
        lock (_lock)
        {
            if (exception is InternalBufferOverflowException)
            {
                // The kernel's queue (fs.inotify.max_queued_events) overflowed: some removals are unknown, the watch itself still holds.
                status.Dropped.Inc();
                _eventsLost = true;
            }
            else
            {
                _failure ??= exception;
            }
        }
    }

    /// <summary>Sets the watch up, checks the root every <see cref="StorageWatcherOptions.RootCheckInterval"/>, falls back to sweeps.</summary>
    private async Task KeepWatchingAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.RootCheckInterval, time);
        do
        {
            try
            {
                await CheckWatchAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task CheckWatchAsync(CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        if (_watch is not null)
        {
            Exception? failure;
            lock (_lock)
                (failure, _failure) = (_failure, null);
            var identity = StorageTreeWatch.Identity(Tree);
            var lost = failure is not null ? $"the watch failed: {failure.Message}"
                : identity is null ? $"{Tree} is gone (unmounted or removed)"
                : identity != _identity ? $"{Tree} was replaced or remounted"
                : null;
            if (lost is not null)
            {
                _watch.Dispose();
                _watch = null;
                NotWatching(lost, now);
            }
            else
            {
                _notWatchingReason = null;
            }
        }
        if (_watch is null)
            TryWatch(now);
        if (_watch is not null && _startSweepDue)
        {
            // What was removed before this process watched is only found by a sweep.
            await RequestSweepAsync("storage-watcher-start", stoppingToken);
            _startSweepDue = false;
        }
        else if (_watch is null && now - _lastFallbackSweep >= _options.FallbackSweepInterval)
        {
            // The start sweep stays due: what is removed between this sweep and the watch's start is only found by it.
            await RequestSweepAsync("storage-watcher-fallback", stoppingToken);
        }
        if (_eventsLost)
        {
            _eventsLost = false;
            await RequestSweepAsync("storage-watcher-overflow", stoppingToken);
        }
    }

    private void TryWatch(DateTimeOffset now)
    {
        var tree = Tree;
        if (StorageTreeWatch.Identity(tree) is not { } identity)
        {
            NotWatching($"{tree} does not exist: not mounted, or not a registry's filesystem storage", now);
            return;
        }
        if (!_options.WatchNetworkFilesystem && StorageTreeWatch.RemoteFilesystem(tree) is { } filesystem)
        {
            NotWatching($"{tree} is on {filesystem}, a network or FUSE filesystem: removals made by other hosts raise no inotify events " +
                "(StorageWatcher:WatchNetworkFilesystem=true if every writer runs on this host)", now);
            return;
        }
        var kernelLimit = StorageTreeWatch.KernelWatchLimit();
        var limit = _options.MaxWatches > 0 ? _options.MaxWatches : kernelLimit is { } k ? (int)(k * 0.9) : int.MaxValue;
        var directories = StorageTreeWatch.CountDirectories(tree, limit);
        if (directories > limit)
        {
            NotWatching($"the storage has more than {limit} directories, one inotify watch each (StorageWatcher:MaxWatches {_options.MaxWatches}, " +
                $"fs.inotify.max_user_watches {kernelLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a"})", now);
            return;
        }
        try
        {
            var watch = StorageTreeWatch.Start(tree, OnRemoved, OnFailed);
            (_watch, _identity) = (watch, identity);
            lock (_lock)
                _failure = null;
            status.Watching(directories, now);
            LogWatching(logger, tree, directories, limit);
            if (_everWatched)
                _eventsLost = true; // removals while nobody watched: reconcile
            _everWatched = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            NotWatching($"the kernel refused the watch: {e.Message}", now);
        }
    }

    private void NotWatching(string reason, DateTimeOffset now)
    {
        // Logged when it changes, and again with each fallback sweep, so the reason stays visible in the log.
        if (reason != _notWatchingReason || now - _lastFallbackSweep >= _options.FallbackSweepInterval)
            LogNotWatching(logger, reason, _options.FallbackSweepInterval);
        _notWatchingReason = reason;
        status.NotWatching(reason, now);
    }

    private async Task RequestSweepAsync(string trigger, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var sweep = new StartSweep { SweepId = Guid.CreateVersion7(now), Trigger = trigger, RequestedAt = now };
        var endpoint = await bus.GetSendEndpoint(QueueNames.SendAddress(QueueNames.Sweeps, eventsQueue.Quorum));
        await endpoint.Send(sweep, cancellationToken);
        _lastFallbackSweep = now;
        status.SweepRequested(trigger, now);
        LogSweepRequested(logger, sweep.SweepId, trigger);
    }

    /// <summary>Collects removals for <see cref="StorageWatcherOptions.Window"/> after the first, then sends them (retrying until the broker confirms).</summary>
    private async Task SendRemovalsAsync(CancellationToken stoppingToken)
    {
        var batch = new RemovalBatch(_options.MaxPendingRemovals);
        var reader = _seen.Reader;
        var root = _options.Root!;
        await PrepareSendAsync(stoppingToken);
        while (await reader.WaitToReadAsync(stoppingToken))
        {
            var first = time.GetTimestamp();
            var deadline = time.GetUtcNow() + _options.Window;
            while (true)
            {
                while (reader.TryRead(out var seen))
                {
                    var relative = Path.GetRelativePath(root, seen.Path).Replace(Path.DirectorySeparatorChar, '/');
                    var reported = batch.Add(relative, seen.At);
                    if (logger.IsEnabled(LogLevel.Debug))
                        LogSeen(logger, relative, reported);
                }
                var left = deadline - time.GetUtcNow();
                if (left <= TimeSpan.Zero)
                    break;
                await Task.Delay(left < TimeSpan.FromMilliseconds(20) ? left : TimeSpan.FromMilliseconds(20), time, stoppingToken);
            }
            if (batch.Dropped > 0)
            {
                status.Dropped.Inc(batch.Dropped);
                _eventsLost = true;
            }
            foreach (var removals in batch.Take(_options.MaxRemovalsPerMessage))
            {
                await SendAsync(removals, stoppingToken);
                status.Latency.Observe(time.GetElapsedTime(first).TotalSeconds);
            }
        }
    }

    /// <summary>
    /// Declares the events queue and sets up its send endpoint before the first removal, not on it: the declaration
    /// opens a broker connection of its own, which made the first removal's message take 1.3-1.6 s to leave on a
    /// loaded machine (measured; later ones took ~0.1 s). A failure here is only logged: the first send tries again.
    /// </summary>
    private async Task PrepareSendAsync(CancellationToken stoppingToken)
    {
        try
        {
            await eventsQueue.EnsureDeclaredAsync(stoppingToken);
            await bus.GetSendEndpoint(eventsQueue.SendAddress);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            eventsQueue.Forget();
            LogPrepareFailed(logger, e.Message);
        }
    }

    private async Task SendAsync(IReadOnlyList<RemovedObject> removals, CancellationToken stoppingToken)
    {
        var message = new RegistryStorageRemoved { BatchId = Guid.CreateVersion7(time.GetUtcNow()), Watcher = WatcherId, Removals = removals };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await SendOnceAsync(message, message.BatchId, stoppingToken);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogSendFailed(logger, removals.Count, attempt, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, attempt)), time, stoppingToken);
            }
        }
        foreach (var kind in removals.GroupBy(r => r.Kind))
            status.Removals.WithLabels(kind.Key).Inc(kind.Count());
        status.Batches.Inc();
        status.BatchSent(time.GetUtcNow());
    }

    /// <summary>One confirmed send to the events queue (declared first); a failure is counted and thrown, the caller decides when to retry.</summary>
    private async Task SendOnceAsync<T>(T message, Guid messageId, CancellationToken cancellationToken) where T : class
    {
        try
        {
            await eventsQueue.EnsureDeclaredAsync(cancellationToken);
            var endpoint = await bus.GetSendEndpoint(eventsQueue.SendAddress);
            await endpoint.Send(message, EventsQueue.SendPipe(messageId), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            status.PublishFailures.Inc();
            eventsQueue.Forget();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching the registry storage {Tree}: {Directories} directories (at most {Limit})")]
    private static partial void LogWatching(ILogger logger, string tree, int directories, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch the registry storage: {Reason}. Requesting a sweep every {Interval} instead")]
    private static partial void LogNotWatching(ILogger logger, string reason, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId} requested ({Trigger})")]
    private static partial void LogSweepRequested(ILogger logger, Guid sweepId, string trigger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} storage removals not confirmed by the broker (attempt {Attempt}, retrying): {Reason}")]
    private static partial void LogSendFailed(ILogger logger, int count, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not declare the events queue before the first removal (the first send tries again): {Reason}")]
    private static partial void LogPrepareFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Removed {Path} (reported: {Reported})")]
    private static partial void LogSeen(ILogger logger, string path, bool reported);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checking the storage watch failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
