using MassTransit;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// Enumerates the whole catalog (every page) and queues one <see cref="SweepRepository"/> per
/// repository, so every Verifier replica shares the work. Repositories the store knows but the
/// catalog no longer lists are swept too: that is how vanished repositories are reconciled.
/// </summary>
public sealed class StartSweepConsumer(
    RegistryClient registry, ISweepStore sweeps, IOptions<SweepOptions> options, TimeProvider time, ILogger<StartSweepConsumer> logger,
    QueueAddresses queues)
    : IConsumer<StartSweep>
{
    private const int MaxCatalogPages = 100_000;

    public async Task Consume(ConsumeContext<StartSweep> context)
    {
        var sweep = context.Message;
        var cancellationToken = context.CancellationToken;
        await sweeps.StartSweepAsync(sweep.SweepId, sweep.Trigger, sweep.RequestedAt, cancellationToken);

        var catalog = new List<string>();
        string? next = null;
        for (var page = 0; page < MaxCatalogPages; page++)
        {
            var result = await registry.ListRepositoriesAsync(next, options.Value.CatalogPageSize, cancellationToken);
            if (result.Probe.Outcome != ProbeOutcome.Present)
            {
                // A catalog cut short is as unusable as none: reconciling from it would drop every repository after the cut.
                var error = $"{(page == 0 ? "catalog inaccessible" : $"catalog incomplete after {page} page(s)")}: {result.Probe.Reason} ({result.Probe.StatusCode} {result.Probe.ErrorCode})";
                logger.LogWarning("Sweep {SweepId} stopped: {Error}", sweep.SweepId, error);
                await sweeps.FailSweepAsync(sweep.SweepId, error, time.GetUtcNow(), cancellationToken);
                return;
            }
            catalog.AddRange(result.Names.Where(ReferenceGrammar.IsRepository));
            next = result.Next;
            if (next is null)
                break;
        }

        // Never-verified repositories first, then the least recently verified.
        var known = await sweeps.ListRepositoriesAsync(cancellationToken);
        var repositories = catalog.Except(known, StringComparer.Ordinal).Concat(known).Distinct(StringComparer.Ordinal).ToList();
        var endpoint = await context.GetSendEndpoint(queues.Sweeps);
        await endpoint.SendBatch(repositories.Select(r => new SweepRepository { SweepId = sweep.SweepId, Repository = r }), cancellationToken);
        await sweeps.SetEnumeratedAsync(sweep.SweepId, repositories.Count, time.GetUtcNow(), cancellationToken);
        logger.LogInformation("Sweep {SweepId} ({Trigger}): {Count} repositories queued", sweep.SweepId, sweep.Trigger, repositories.Count);
    }
}
