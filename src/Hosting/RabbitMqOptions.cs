using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting.Settings;

namespace RegistryIntegrity.Hosting;

/// <summary>
/// The broker as both services see it: <c>ConnectionStrings:RabbitMq</c>, <c>RabbitMq:QuorumQueues</c>
/// and <c>RabbitMq:EventsQueueMaxLength</c> (the bound every declaration of the events queue carries).
/// Read from configuration in this one place; the settings check reports a bad value by key before start.
/// </summary>
public sealed class RabbitMqOptions
{
    public const string ConnectionStringKey = "ConnectionStrings:RabbitMq";

    public Uri? ConnectionString { get; set; }

    public bool QuorumQueues { get; set; }

    public int EventsQueueMaxLength { get; set; } = QueueNames.DefaultEventsQueueMaxLength;

    /// <summary>The broker URI; <see cref="RabbitMqOptionsValidator"/> has made sure there is one.</summary>
    public Uri Uri => ConnectionString ?? throw new InvalidOperationException($"{ConnectionStringKey} is not set.");

    /// <summary>Reports every broker setting that cannot work before anything starts, each by its key.</summary>
    public static void Check(SettingsCheck check)
    {
        check.BrokerUri(ConnectionStringKey);
        check.Boolean(QueueNames.QuorumQueuesKey);
        check.Value(QueueNames.EventsQueueMaxLengthKey, "a whole number of messages, at least 1",
            text => int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) && length >= 1,
            required: false);
    }

    public static RabbitMqOptions Read(IConfiguration configuration) => new()
    {
        ConnectionString = Uri.TryCreate(configuration.GetConnectionString("RabbitMq"), UriKind.Absolute, out var uri) ? uri : null,
        QuorumQueues = configuration.GetValue<bool>(QueueNames.QuorumQueuesKey),
        EventsQueueMaxLength = configuration.GetValue(QueueNames.EventsQueueMaxLengthKey, QueueNames.DefaultEventsQueueMaxLength),
    };
}

public sealed class RabbitMqOptionsValidator : IValidateOptions<RabbitMqOptions>
{
    public ValidateOptionsResult Validate(string? name, RabbitMqOptions options)
    {
        var failures = new List<string>();
        if (options.ConnectionString is not { Scheme: "amqp" or "amqps" } connection || connection.Host.Length == 0)
            failures.Add($"{RabbitMqOptions.ConnectionStringKey} must be an amqp:// or amqps:// URI.");
        if (options.EventsQueueMaxLength < 1)
            failures.Add($"{QueueNames.EventsQueueMaxLengthKey} must be at least 1.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

public static class RabbitMqOptionsExtensions
{
    /// <summary>Binds <see cref="RabbitMqOptions"/> from configuration, validated when the host starts.</summary>
    public static IServiceCollection AddRabbitMqOptions(this IServiceCollection services)
    {
        services.AddOptions<RabbitMqOptions>()
            .Configure<IConfiguration>((options, configuration) =>
            {
                var read = RabbitMqOptions.Read(configuration);
                options.ConnectionString = read.ConnectionString;
                options.QuorumQueues = read.QuorumQueues;
                options.EventsQueueMaxLength = read.EventsQueueMaxLength;
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RabbitMqOptions>, RabbitMqOptionsValidator>();
        return services;
    }
}
