using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Consumers;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>replay</c>: send stored registry events again (e.g. after a Verifier fix, or into an empty store);
/// <c>replay-errors</c>: move messages from the <c>_error</c> and <c>_skipped</c> queues back to their queue.
/// Both count first and change nothing with <c>--dry-run</c>.
/// </summary>
internal static class ReplayCommands
{
    public const int Done = 0, BadArgument = 64;

    private static readonly Dictionary<string, Type> EventTypes = new[] { typeof(ManifestPushed), typeof(DigestDeleted), typeof(TagDeleted) }
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    public static Command CreateReplay()
    {
        var from = new Option<string>("--from") { Description = "Events that happened at or after this time (ISO 8601).", Required = true };
        var to = new Option<string?>("--to") { Description = "Events that happened before this time (default: now)." };
        var repository = new Option<string?>("--repository") { Description = "Only this repository." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count, send nothing." };
        var source = new Option<string?>("--source-store") { Description = "Read events from this store (same provider) instead of the configured one." };
        var command = new Command("replay", "Send stored registry events again, in the order they happened.") { from, to, repository, dryRun, source };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () => ReplayAsync(
            parse.GetValue(from)!, parse.GetValue(to), parse.GetValue(repository), parse.GetValue(dryRun), parse.GetValue(source),
            parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken)));
        return command;
    }

    public static Command CreateReplayErrors()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Count, move nothing." };
        var command = new Command("replay-errors", "Move messages from the _error and _skipped queues back to their source queue.") { dryRun };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () =>
            ReplayErrorsAsync(parse.GetValue(dryRun), parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken)));
        return command;
    }

    private static async Task<int> ReplayAsync(
        string fromText, string? toText, string? repository, bool dryRun, string? sourceStore, string[] configArgs,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!DateTimeOffset.TryParse(fromText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var from)
            || (toText is not null && !DateTimeOffset.TryParse(toText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _)))
        {
            await error.WriteLineAsync("replay: --from and --to are times such as 2026-11-26T12:00:00Z");
            return BadArgument;
        }
        var to = toText is null ? DateTimeOffset.UtcNow : DateTimeOffset.Parse(toText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        if (repository is not null && !ReferenceGrammar.IsRepository(repository))
        {
            await error.WriteLineAsync("replay: --repository is not a valid repository name");
            return BadArgument;
        }

        using var host = await CommandLineHost.StartWithBusAsync(configArgs, error, cancellationToken,
            beforeStart: configuration => RequireExistingSqliteStore(configuration, sourceStore));
        try
        {
            var eventLog = sourceStore is null
                ? host.Services.GetRequiredService<IEventLog>()
                : new DapperEventLog(SourceConnections(host, sourceStore), host.Services.GetRequiredService<TimeProvider>());
            var events = await eventLog.ListForReplayAsync(from, to, repository, cancellationToken);
            await output.WriteLineAsync($"{events.Count} event(s) from {from:O} to {to:O}{(repository is null ? "" : $" in {repository}")}");
            if (dryRun || events.Count == 0)
                return Done;

            var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(host.Services.GetRequiredService<QueueAddresses>().Events);
            var sent = 0;
            foreach (var stored in events)
            {
                if (!EventTypes.TryGetValue(stored.MessageType, out var type))
                    continue;
                var message = JsonSerializer.Deserialize(stored.Payload, type)!;
                await endpoint.Send(message, type, Pipe.Execute<SendContext>(context =>
                {
                    context.MessageId = EventMessageId.From(stored.EventId);
                    context.Headers.Set(ReplayedEvents.Header, "true");
                }), cancellationToken);
                sent++;
            }
            await output.WriteLineAsync($"{sent} event(s) sent to {QueueNames.RegistryEvents}");
            return Done;
        }
        finally
        {
            await CommandLineHost.StopBusAsync(host);
        }
    }

    /// <summary>
    /// Replay reads events from a store that exists: a relative <c>Data Source</c> resolved against another folder than the
    /// running Verifier's would otherwise be created empty here, and the replay would quietly find no events.
    /// </summary>
    private static void RequireExistingSqliteStore(IConfiguration configuration, string? sourceStore)
    {
        var store = configuration.GetSection(StoreOptions.SectionName).Get<StoreOptions>() ?? new StoreOptions();
        if (store.Provider != StoreProvider.Sqlite)
            return;
        var (key, connectionString) = sourceStore is null ? ("Store:ConnectionString", store.ConnectionString) : ("--source-store", sourceStore);
        string file;
        try
        {
            var dataSource = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString).DataSource;
            if (string.IsNullOrWhiteSpace(dataSource) || dataSource == ":memory:")
                return;
            file = Path.GetFullPath(dataSource);
        }
        catch (ArgumentException)
        {
            return;
        }
        if (!File.Exists(file))
            throw new Hosting.Settings.SettingsException([
                $"{key} names {file}, which does not exist: replay reads the events of an existing store (the running Verifier's Store:ConnectionString, as an absolute path)"]);
    }

    private static IDbConnectionFactory SourceConnections(IHost host, string connectionString) =>
        host.Services.GetRequiredService<IDbConnectionFactory>().Provider == StoreProvider.Postgres
            ? new NpgsqlConnectionFactory(Npgsql.NpgsqlDataSource.Create(connectionString))
            : new SqliteConnectionFactory(connectionString);

    private static async Task<int> ReplayErrorsAsync(bool dryRun, string[] configArgs, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var configuration = CommandLineHost.CreateBuilder(configArgs).Configuration;
        CommandLineHost.CheckSettings(configuration, VerifierParts.Broker, error);
        var factory = new ConnectionFactory { Uri = RabbitMqOptions.Read(configuration).Uri };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        var moved = 0;
        foreach (var source in new[] { QueueNames.RegistryEvents, QueueNames.Sweeps })
        {
            foreach (var queue in new[] { $"{source}_error", $"{source}_skipped" })
            {
                await using var channel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
                uint count;
                try
                {
                    count = (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
                }
                catch (OperationInterruptedException)
                {
                    continue; // the queue does not exist: nothing ever failed there
                }
                await output.WriteLineAsync($"{queue}: {count} message(s){(dryRun ? "" : $" -> {source}")}");
                if (dryRun)
                    continue;
                // Only the messages present now: anything failing again while we move lands behind them and stays for next time.
                for (var i = 0; i < count; i++)
                {
                    var message = await channel.BasicGetAsync(queue, autoAck: false, cancellationToken);
                    if (message is null)
                        break;
                    await channel.BasicPublishAsync("", source, mandatory: true, new BasicProperties(message.BasicProperties), message.Body, cancellationToken);
                    await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
                    moved++;
                }
            }
        }
        await output.WriteLineAsync(dryRun ? "dry run: nothing moved" : $"{moved} message(s) moved");
        return Done;
    }
}
