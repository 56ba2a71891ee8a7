using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>Send addresses of the Verifier's queues, which depend on their type (see <see cref="QueueNames.SendAddress"/>).</summary>
public sealed class QueueAddresses(IConfiguration configuration)
{
    public bool QuorumQueues { get; } = configuration.GetValue<bool>(QueueNames.QuorumQueuesKey);

    public Uri Events => QueueNames.SendAddress(QueueNames.RegistryEvents, QuorumQueues);

    public Uri Sweeps => QueueNames.SendAddress(QueueNames.Sweeps, QuorumQueues);
}
