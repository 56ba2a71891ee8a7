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

    /// <summary>Configuration key (env <c>RabbitMq__EventsQueueMaxLength</c>): most messages <see cref="RegistryEvents"/> holds.</summary>
    public const string EventsQueueMaxLengthKey = "RabbitMq:EventsQueueMaxLength";

    public const int DefaultEventsQueueMaxLength = 1_000_000;

    /// <summary>
    /// The arguments every declaration of <see cref="RegistryEvents"/> carries (RabbitMQ refuses a
    /// declaration whose arguments differ): at most <paramref name="maxLength"/> messages, and when
    /// full the broker refuses (nacks) new ones instead of dropping old ones, so an event is never
    /// acknowledged to the registry and then lost.
    /// </summary>
    public static Dictionary<string, object?> EventsQueueArguments(int maxLength) => new()
    {
        ["x-max-length"] = maxLength,
        ["x-overflow"] = "reject-publish",
    };

    /// <summary>
    /// Where to send messages for <paramref name="queue"/>. Classic queues: the queue itself (MassTransit
    /// declares it). Quorum queues, and the events queue whatever its type: MassTransit 8.5 cannot give a
    /// send endpoint's queue declaration arguments (<c>x-queue-type</c>, <c>x-max-length</c>), and RabbitMQ
    /// refuses a declaration without them (PRECONDITION_FAILED), so messages go to the queue's exchange,
    /// which the receive endpoint binds; whoever must not lose a message declares the queue and binding
    /// first (the Listener does) and sends mandatory.
    /// </summary>
    public static Uri SendAddress(string queue, bool quorumQueues) =>
        new(quorumQueues || queue == RegistryEvents ? $"exchange:{queue}" : $"queue:{queue}");
}
