using System.CommandLine;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Verification;
using System.Text.Json.Serialization;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>A host for CLI verbs: the service's configuration and verification services, no bus and no web server.</summary>
internal static class CommandLineHost
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // Output for people and jq, not for embedding in HTML: media types keep their '+' instead of \u002B.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>
    /// Configuration as the service reads it (appsettings.json beside the binary, environment, arguments), from any
    /// working directory. Logs go to stderr, never stdout (which carries only results): none at all when
    /// <paramref name="logs"/> is <see cref="CliLogs.Quiet"/>, our own debug lines and every request when verbose.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] configArgs, CliLogs logs = CliLogs.Normal)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = configArgs, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (logs == CliLogs.Quiet)
            return builder;
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        if (logs == CliLogs.Verbose)
        {
            builder.Logging.AddFilter("RegistryIntegrity", LogLevel.Debug);
            builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Information);
            builder.Logging.AddFilter("Polly", LogLevel.Information);
        }
        return builder;
    }

    /// <summary>Checks the settings a verb reads: throws <see cref="SettingsException"/>, prints warnings to <paramref name="error"/>.</summary>
    public static void CheckSettings(IConfiguration configuration, VerifierParts parts, TextWriter error)
    {
        foreach (var warning in VerifierSettings.Check(configuration, parts))
            error.WriteLine($"warning: {warning}");
    }

    /// <summary>Runs a verb; bad configuration ends it with one line per problem on stderr and exit code 64.</summary>
    public static async Task<int> GuardAsync(ParseResult parse, Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (SettingsException e)
        {
            var verb = parse.CommandResult.Command is RootCommand ? "verifier" : parse.CommandResult.Command.Name;
            foreach (var problem in e.Problems)
                await parse.InvocationConfiguration.Error.WriteLineAsync($"{verb}: {problem}");
            return SettingsException.ExitCode;
        }
    }

    /// <summary>The <c>check</c> verb's host: quiet unless <paramref name="verbose"/>, each request tried <paramref name="retries"/> + 1 times.</summary>
    /// <param name="login">Credentials found for this registry: <c>--username</c> wins over the configuration, the docker config's apply only when none are configured.</param>
    public static IHost Build(string[] configArgs, string registry, bool plainHttp, TextWriter error, bool verbose, int retries,
        RegistryLogin? login = null, string? caFile = null, bool insecure = false)
    {
        // Quiet by default: the result says what went wrong, once.
        var builder = CreateBuilder(configArgs, verbose ? CliLogs.Verbose : CliLogs.Quiet);
        var configured = builder.Configuration["Registry:BaseUrl"];
        // The configured registry keeps its URL and credentials. Any other host named on the command line is
        // used as given, with only the credentials given on the command line: configured ones belong to another registry.
        if (configured is null || !Uri.TryCreate(configured, UriKind.Absolute, out var uri) || !uri.Authority.Equals(registry, StringComparison.OrdinalIgnoreCase))
        {
            var commandLine = new ConfigurationBuilder().AddCommandLine(configArgs).Build();
            var overrides = new Dictionary<string, string?> { ["Registry:BaseUrl"] = $"{(plainHttp ? "http" : "https")}://{registry}/" };
            foreach (var key in (string[])["Username", "Password", "UsernameFile", "PasswordFile"])
                overrides[$"Registry:{key}"] = commandLine[$"Registry:{key}"];
            builder.Configuration.AddInMemoryCollection(overrides);
        }
        var given = new Dictionary<string, string?>();
        if (caFile is not null)
            given["Registry:CaCertificateFile"] = caFile;
        if (login is not null && (login.Source == "--username"
                                  || (string.IsNullOrEmpty(builder.Configuration["Registry:Username"]) && string.IsNullOrEmpty(builder.Configuration["Registry:UsernameFile"]))))
        {
            given["Registry:Username"] = login.Username;
            given["Registry:Password"] = login.Password;
            given["Registry:UsernameFile"] = null;
            given["Registry:PasswordFile"] = null;
        }
        builder.Configuration.AddInMemoryCollection(given);
        CheckSettings(builder.Configuration, VerifierParts.Registry, error);
        builder.Services.AddVerification();
        if (insecure)
            builder.Services.SkipTlsVerification();
        // A CI step fails fast: an unreachable host costs one bounded attempt unless --retries asks for more.
        builder.Services.PostConfigureAll<HttpStandardResilienceOptions>(resilience =>
        {
            if (retries == 0)
                resilience.Retry.ShouldHandle = _ => PredicateResult.False();
            else
                resilience.Retry.MaxRetryAttempts = retries;
        });
        return builder.Build();
    }

    /// <summary>A host with the store and a send-only bus, for the verbs that queue work (sweep, backfill, replay).</summary>
    /// <param name="beforeStart">Checks of the verb's own, once the settings are known to be well-formed and before the store is opened.</param>
    public static async Task<IHost> StartWithBusAsync(string[] configArgs, TextWriter error, CancellationToken cancellationToken, Action<IConfiguration>? beforeStart = null)
    {
        var builder = CreateBuilder(configArgs);
        CheckSettings(builder.Configuration, VerifierParts.Store | VerifierParts.Broker | VerifierParts.Sweep, error);
        beforeStart?.Invoke(builder.Configuration);
        builder.Services.AddSystemTime();
        builder.Services.AddDapperRepositories();
        builder.Services.AddSweeps();
        builder.Services.AddMassTransit(bus =>
        {
            bus.DisableUsageTelemetry();
            bus.UsingRabbitMq((context, rabbit) => rabbit.Host(context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Uri));
        });
        var host = builder.Build();
        await host.Services.GetRequiredService<IVerdictStore>().MigrateAsync(cancellationToken);
        await host.Services.GetRequiredService<IBusControl>().StartAsync(cancellationToken);
        return host;
    }

    public static async Task StopBusAsync(IHost host) =>
        await host.Services.GetRequiredService<IBusControl>().StopAsync(CancellationToken.None);
}

internal enum CliLogs { Quiet, Normal, Verbose }
