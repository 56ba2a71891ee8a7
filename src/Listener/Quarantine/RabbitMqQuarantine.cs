using RegistryIntegrity.Listener.Configuration;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using RegistryIntegrity.Hosting;

namespace RegistryIntegrity.Listener.Quarantine;

/// <summary>
/// Keeps unusable notifications on a bounded, durable RabbitMQ queue: the raw body is the message
/// body (so any AMQP tool shows it as it arrived), the reason and times are headers. The queue holds
/// <see cref="QuarantineOptions.MaxMessages"/> at most and drops the oldest beyond that, so a
/// misbehaving registry cannot fill the broker.
/// </summary>
/// <remarks>
/// It uses a connection of its own rather than MassTransit's: MassTransit cannot declare a queue
/// with arguments for a send endpoint, and the body here is not a MassTransit message. The
/// connection is opened on first use and rebuilt after any failure; quarantines are rare.
/// </remarks>
public sealed partial class RabbitMqQuarantine : IQuarantine, IAsyncDisposable
{
    public const string QueueName = "registry-integrity-quarantine";
    private const ushort PreconditionFailed = 406;

    private readonly ConnectionFactory _factory;
    private readonly QuarantineOptions _options;
    private readonly ILogger<RabbitMqQuarantine> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    public RabbitMqQuarantine(IOptions<RabbitMqOptions> rabbitMq, IOptions<ListenerOptions> options, ILogger<RabbitMqQuarantine> logger)
    {
        _options = options.Value.Quarantine;
        _logger = logger;
        _factory = new ConnectionFactory
        {
            Uri = rabbitMq.Value.Uri,
            ClientProvidedName = "registry-integrity-listener quarantine",
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedConnectionTimeout = options.Value.PublishTimeout,
            RequestedHeartbeat = TimeSpan.FromSeconds(10),
        };
    }

    private const int MaxContentTypeHeader = 4096;

    private static bool IsShortAscii(string? value) => value is { Length: <= 255 } && value.All(c => c is >= ' ' and <= '~');

    public async Task PutAsync(QuarantinedNotification notification, CancellationToken cancellationToken)
    {
        var body = notification.Body.Length > _options.MaxBodyBytes ? notification.Body[.._options.MaxBodyBytes] : notification.Body;
        var properties = new BasicProperties
        {
            Persistent = true,
            // The same body quarantined twice (a registry retry) carries the same id.
            MessageId = Convert.ToHexStringLower(SHA256.HashData(notification.Body.Span)),
            // AMQP's content-type is a short string (255 bytes at most): anything longer or not plain ASCII goes in a header.
            ContentType = IsShortAscii(notification.ContentType) ? notification.ContentType : null,
            Timestamp = new AmqpTimestamp(notification.ReceivedAt.ToUnixTimeSeconds()),
            Headers = new Dictionary<string, object?>
            {
                ["quarantine-reason"] = notification.Reason,
                ["received-at"] = notification.ReceivedAt.ToString("O", CultureInfo.InvariantCulture),
                ["body-length"] = notification.SentLength ?? notification.Body.Length,
                ["body-truncated"] = notification.SentLength is not null || body.Length < notification.Body.Length,
                ["remote-address"] = notification.RemoteAddress,
            },
        };
        if (notification.ContentType is not null && properties.ContentType is null)
            properties.Headers["content-type"] = notification.ContentType.Length > MaxContentTypeHeader ? notification.ContentType[..MaxContentTypeHeader] : notification.ContentType;

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var channel = await OpenAsync(cancellationToken);
            await channel.BasicPublishAsync("", QueueName, mandatory: true, properties, body, cancellationToken);
        }
        catch
        {
            // Whatever failed (broker gone, confirm timed out, queue deleted), start over next time.
            await CloseAsync();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Why the last <see cref="TryConnectAsync"/> failed (null after a success).</summary>
    public Exception? LastConnectFailure { get; private set; }

    /// <summary>
    /// Whether the broker takes a connection and the quarantine queue exists: opens both if needed,
    /// so it also tells when a broker that was down is back.
    /// </summary>
    public async Task<bool> TryConnectAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await OpenAsync(cancellationToken);
            LastConnectFailure = null;
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LastConnectFailure = e;
            await CloseAsync();
            return false;
        }
        catch
        {
            await CloseAsync();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        _gate.Dispose();
    }

    private async Task<IChannel> OpenAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true })
            return _channel;
        await CloseAsync();
        _connection = await _factory.CreateConnectionAsync(cancellationToken);
        _channel = await CreateChannelAsync(cancellationToken);
        try
        {
            await _channel.QueueDeclareAsync(QueueName, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object?>
            {
                ["x-max-length"] = _options.MaxMessages,
                ["x-overflow"] = "drop-head",
            }, cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == PreconditionFailed)
        {
            // The queue exists with other arguments (MaxMessages was changed): use it as it is rather
            // than fail every quarantine, which would block the registry.
            LogQueueArgumentsDiffer(_logger, QueueName, e.ShutdownReason.ReplyText);
            await _channel.DisposeAsync();
            _channel = await CreateChannelAsync(cancellationToken);
            await _channel.QueueDeclarePassiveAsync(QueueName, cancellationToken);
        }
        return _channel;
    }

    private Task<IChannel> CreateChannelAsync(CancellationToken cancellationToken) =>
        _connection!.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);

    private async Task CloseAsync()
    {
        var channel = _channel;
        var connection = _connection;
        _channel = null;
        _connection = null;
        try
        {
            if (channel is not null)
                await channel.DisposeAsync();
            if (connection is not null)
                await connection.DisposeAsync();
        }
        catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or IOException or ObjectDisposedException)
        {
            // Closing a connection to a broker that is already gone.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue} exists with other arguments than configured, using it as it is: {Reason}")]
    private static partial void LogQueueArgumentsDiffer(ILogger logger, string queue, string reason);
}
