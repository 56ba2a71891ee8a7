using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>Send addresses of the Verifier's queues, which depend on their type (see <see cref="QueueNames.SendAddress"/>).</summary>
public sealed class QueueAddresses(IOptions<RabbitMqOptions> rabbitMq)
{
    public bool QuorumQueues { get; } = rabbitMq.Value.QuorumQueues;

    public Uri Events => QueueNames.SendAddress(QueueNames.RegistryEvents, QuorumQueues);

    public Uri Sweeps => QueueNames.SendAddress(QueueNames.Sweeps, QuorumQueues);
}
