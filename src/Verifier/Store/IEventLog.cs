namespace RegistryIntegrity.Verifier.Store;

/// <summary>
/// The processed-event log: every registry event the Verifier processed, so a redelivered event is
/// dropped, the <c>replay</c> verb can send history again, and retention bounds it.
/// A verdict and the event that caused it are written in one transaction by <see cref="IVerdictStore"/>
/// (passing the event to it); this records events that change no verdict.
/// </summary>
public interface IEventLog
{
    Task<bool> IsProcessedAsync(string eventId, CancellationToken cancellationToken);

    /// <summary>Records an event; recording one already recorded changes nothing.</summary>
    Task RecordAsync(ProcessedEvent processedEvent, CancellationToken cancellationToken);

    /// <summary>The events that occurred in [<paramref name="from"/>, <paramref name="to"/>), oldest first, for replay.</summary>
    Task<IReadOnlyList<ProcessedEvent>> ListForReplayAsync(DateTimeOffset from, DateTimeOffset to, string? repository, CancellationToken cancellationToken);

    /// <summary>Removes events that occurred before <paramref name="cutOff"/>, at most <paramref name="batchSize"/> per statement.</summary>
    /// <returns>How many were removed.</returns>
    Task<long> PruneAsync(DateTimeOffset cutOff, int batchSize, CancellationToken cancellationToken);
}
