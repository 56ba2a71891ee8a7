namespace RegistryIntegrity.Contracts;

public static class QueueNames
{
    /// <summary>
    /// The durable queue the Listener sends registry events to. The Listener sends to the queue
    /// (declaring it) rather than publishing to an exchange: a broker confirm for a message routed
    /// to an exchange with no bound queue would acknowledge an event that is then dropped.
    /// </summary>
    public const string RegistryEvents = "registry-integrity-events";

    /// <summary>Sweep work, on its own queue so a large sweep never delays the registry's events.</summary>
    public const string Sweeps = "registry-integrity-sweeps";

    /// <summary>Configuration key (env <c>RabbitMq__QuorumQueues</c>): the Verifier's queues are quorum queues.</summary>
    public const string QuorumQueuesKey = "RabbitMq:QuorumQueues";

    /// <summary>
    /// Where to send messages for <paramref name="queue"/>. Classic queues: the queue itself (MassTransit
    /// declares it). Quorum queues: MassTransit 8.5 cannot give a send endpoint's queue declaration an
    /// <c>x-queue-type</c>, and RabbitMQ refuses a declaration without it (PRECONDITION_FAILED), so
    /// messages go to the queue's exchange, which the receive endpoint binds; whoever must not lose
    /// a message declares the queue and binding first (the Listener does) and sends mandatory.
    /// </summary>
    public static Uri SendAddress(string queue, bool quorumQueues) => new(quorumQueues ? $"exchange:{queue}" : $"queue:{queue}");
}
