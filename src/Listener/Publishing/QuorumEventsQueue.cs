using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Listener.Publishing;

/// <summary>
/// With quorum queues the Listener sends to the events queue's exchange (see <see cref="QueueNames.SendAddress"/>),
/// so before its first send it declares the quorum queue, the exchange and their binding itself: an
/// event confirmed by the broker is then on the queue even if no Verifier ever ran.
/// </summary>
public sealed class QuorumEventsQueue(IConfiguration configuration, IOptions<ListenerOptions> options)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _declared;

    public bool Enabled { get; } = configuration.GetValue<bool>(QueueNames.QuorumQueuesKey);

    public Uri SendAddress => QueueNames.SendAddress(QueueNames.RegistryEvents, Enabled);

    public async Task EnsureDeclaredAsync(CancellationToken cancellationToken)
    {
        if (!Enabled || _declared)
            return;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_declared)
                return;
            var factory = new ConnectionFactory
            {
                Uri = new Uri(configuration.GetConnectionString("RabbitMq")!),
                AutomaticRecoveryEnabled = false,
                RequestedConnectionTimeout = options.Value.PublishTimeout,
            };
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            // The same exchange MassTransit's receive endpoint declares (fanout, durable), or the declarations conflict.
            await channel.ExchangeDeclareAsync(QueueNames.RegistryEvents, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
            await channel.QueueDeclareAsync(QueueNames.RegistryEvents, durable: true, exclusive: false, autoDelete: false,
                new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
            await channel.QueueBindAsync(QueueNames.RegistryEvents, QueueNames.RegistryEvents, "", cancellationToken: cancellationToken);
            _declared = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
