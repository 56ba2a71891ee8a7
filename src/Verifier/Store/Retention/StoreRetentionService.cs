using Microsoft.Extensions.Options;
using Prometheus;
using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.Store.Retention;

/// <summary>Prunes the verdict store on <see cref="RetentionOptions.Interval"/>, the first time one interval after start.</summary>
public sealed class StoreRetentionService(
    IStoreRetention retention, IOptions<StoreOptions> options, TimeProvider time, VerifierMetricsRegistry metrics,
    ILogger<StoreRetentionService> logger)
    : BackgroundService
{
    private readonly Counter _pruned = metrics.Factory.CreateCounter(
        "registry_integrity_store_pruned_rows_total", "Rows the retention settings removed from the verdict store, by table.", ["table"]);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Retention.Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PruneOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Pruning the store failed, trying again in {Interval}: {Error}", options.Value.Retention.Interval, e.Message);
            }
        }
    }

    public async Task<PrunedRows> PruneOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value.Retention;
        var now = time.GetUtcNow();
        var pruned = await retention.PruneAsync(new RetentionCutOffs(
            RetentionOptions.CutOff(settings.VerdictHistory, now), RetentionOptions.CutOff(settings.ProcessedEvents, now),
            RetentionOptions.CutOff(settings.DeletedManifests, now), RetentionOptions.CutOff(settings.Sweeps, now)),
            settings.BatchSize, cancellationToken);
        _pruned.WithLabels("verdict_history").Inc(pruned.VerdictHistory);
        _pruned.WithLabels("processed_events").Inc(pruned.ProcessedEvents);
        _pruned.WithLabels("manifests").Inc(pruned.DeletedManifests);
        _pruned.WithLabels("manifest_references").Inc(pruned.References);
        _pruned.WithLabels("sweeps").Inc(pruned.Sweeps);
        _pruned.WithLabels("registry_storage_tag_removals").Inc(pruned.StorageTagRemovals);
        if (pruned.Total > 0)
            logger.LogInformation(
                "Pruned the store: {History} history rows, {Events} processed events, {Manifests} deleted manifests with {References} references, {Sweeps} sweeps, {TagRemovals} storage tag removals",
                pruned.VerdictHistory, pruned.ProcessedEvents, pruned.DeletedManifests, pruned.References, pruned.Sweeps, pruned.StorageTagRemovals);
        return pruned;
    }
}
