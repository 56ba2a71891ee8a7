using MassTransit;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Consumers;

public sealed class SweepRepositoryConsumer(RepositorySweeper sweeper, ISweepStore sweeps, TimeProvider time, ILogger<SweepRepositoryConsumer> logger)
    : IConsumer<SweepRepository>
{
    public async Task Consume(ConsumeContext<SweepRepository> context)
    {
        var message = context.Message;
        if (!ReferenceGrammar.IsRepository(message.Repository))
        {
            logger.LogWarning("Sweep {SweepId}: skipped an invalid repository name", message.SweepId);
            await sweeps.RepositoryDoneAsync(message.SweepId, 0, 0, time.GetUtcNow(), context.CancellationToken);
            return;
        }
        var result = await sweeper.SweepAsync(message.Repository, context.CancellationToken);
        if (result.Problem is not null)
            logger.LogWarning("Sweep {SweepId}: {Repository}: {Problem}", message.SweepId, message.Repository, result.Problem);
        var progress = await sweeps.RepositoryDoneAsync(message.SweepId, result.ManifestsChecked, result.TagsSeen, time.GetUtcNow(), context.CancellationToken);
        if (progress.CompletedAt is { } completed && progress.RepositoriesDone == progress.RepositoriesTotal)
        {
            logger.LogInformation("Sweep {SweepId} completed in {Seconds:F1} s: {Repositories} repositories, {Manifests} manifests, {Tags} tags",
                message.SweepId, (completed - progress.StartedAt).TotalSeconds, progress.RepositoriesDone, progress.ManifestsChecked, progress.TagsSeen);
        }
    }
}
