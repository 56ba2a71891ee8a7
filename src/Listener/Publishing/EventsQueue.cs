using MassTransit;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Listener.Configuration;

namespace RegistryIntegrity.Listener.Publishing;

/// <summary>
/// The Listener sends to the events queue's exchange (see <see cref="QueueNames.SendAddress"/>), so
/// before its first send it declares the queue (classic or quorum, bounded by
/// <see cref="QueueNames.EventsQueueArguments"/>), the exchange and their binding itself: an event
/// confirmed by the broker is then on the queue even if no Verifier ever ran.
/// </summary>
public sealed partial class EventsQueue(IOptions<RabbitMqOptions> rabbitMq, IOptions<ListenerOptions> options, ILogger<EventsQueue> logger)
{
    private const ushort PreconditionFailed = 406;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _declared;

    public bool Quorum { get; } = rabbitMq.Value.QuorumQueues;

    public int MaxLength { get; } = rabbitMq.Value.EventsQueueMaxLength;

    public Uri SendAddress => QueueNames.SendAddress(QueueNames.RegistryEvents, Quorum);

    public async Task EnsureDeclaredAsync(CancellationToken cancellationToken)
    {
        if (_declared)
            return;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_declared)
                return;
            var factory = new ConnectionFactory
            {
                Uri = rabbitMq.Value.Uri,
                AutomaticRecoveryEnabled = false,
                RequestedConnectionTimeout = options.Value.PublishTimeout,
            };
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                // The same exchange MassTransit's receive endpoint declares (fanout, durable), or the declarations conflict.
                await channel.ExchangeDeclareAsync(QueueNames.RegistryEvents, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
                var arguments = QueueNames.EventsQueueArguments(MaxLength);
                if (Quorum)
                    arguments["x-queue-type"] = "quorum";
                try
                {
                    await channel.QueueDeclareAsync(QueueNames.RegistryEvents, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken);
                }
                catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == PreconditionFailed)
                {
                    // Declared earlier with other arguments (another bound, or none before the bound existed):
                    // sending to it as it is beats answering 503 forever.
                    LogQueueArgumentsDiffer(logger, QueueNames.RegistryEvents, e.ShutdownReason.ReplyText);
                    await channel.DisposeAsync();
                    channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
                    await channel.QueueDeclarePassiveAsync(QueueNames.RegistryEvents, cancellationToken);
                }
                await channel.QueueBindAsync(QueueNames.RegistryEvents, QueueNames.RegistryEvents, "", cancellationToken: cancellationToken);
            }
            finally
            {
                await channel.DisposeAsync();
            }
            _declared = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Forget() => _declared = false;

    /// <summary>
    /// How every message is sent to the queue: with its id, and mandatory, because it goes to the queue's exchange
    /// and a message no queue is bound to must come back as an error instead of a confirm.
    /// </summary>
    public static IPipe<SendContext> SendPipe(Guid messageId) => Pipe.Execute<SendContext>(context =>
    {
        context.MessageId = messageId;
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            rabbit.Mandatory = true;
    });

    /// <summary>Whether the queue holds its maximum of ready messages now (false when that cannot be told).</summary>
    public async Task<bool> IsFullAsync(CancellationToken cancellationToken)
    {
        try
        {
            var factory = new ConnectionFactory { Uri = rabbitMq.Value.Uri, AutomaticRecoveryEnabled = false };
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            return (await channel.QueueDeclarePassiveAsync(QueueNames.RegistryEvents, cancellationToken)).MessageCount >= MaxLength;
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or OperationCanceledException or IOException or AlreadyClosedException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue} exists with other arguments than configured, using it as it is: {Reason}")]
    private static partial void LogQueueArgumentsDiffer(ILogger logger, string queue, string reason);
}
