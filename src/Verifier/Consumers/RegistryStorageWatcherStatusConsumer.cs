using MassTransit;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.RegistryStorageWatchers;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// A storage watcher's state (heartbeat): kept for <c>/v1/status</c> and the gauge, the newest per watcher.
/// An invalid one is logged and dropped, never sent to the error queue; it never changes a verdict.
/// </summary>
public sealed partial class RegistryStorageWatcherStatusConsumer(IStorageWatcherReportStore store, TimeProvider time, ILogger<RegistryStorageWatcherStatusConsumer> logger)
    : IConsumer<RegistryStorageWatcherStatus>
{
    public async Task Consume(ConsumeContext<RegistryStorageWatcherStatus> context)
    {
        if (!StorageWatcherReports.TryRead(context.Message, time.GetUtcNow(), out var report, out var problem))
        {
            var watcher = context.Message?.Watcher ?? "";
            LogInvalid(logger, problem, watcher.Length > 100 ? watcher[..100] + "..." : watcher, context.MessageId);
            return;
        }
        if (!await store.RecordAsync(report, context.CancellationToken))
            LogOlder(logger, report.Watcher, report.State, report.LastHeardAt);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped a storage watcher status with {Problem} (watcher {Watcher}, message {MessageId})")]
    private static partial void LogInvalid(ILogger logger, string problem, string watcher, Guid? messageId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Storage watcher {Watcher}: a {State} status sent at {SentAt} is older than the one kept")]
    private static partial void LogOlder(ILogger logger, string watcher, string state, DateTimeOffset sentAt);
}
