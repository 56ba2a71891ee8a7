using System.Text.Json;
using System.Text.Json.Serialization;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>A host for CLI verbs: the service's configuration and verification services, no bus and no web server.</summary>
internal static class CommandLineHost
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static IHost Build(string[] configArgs, string registry, bool plainHttp)
    {
        var builder = Host.CreateApplicationBuilder(configArgs);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
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
        builder.Services.AddVerification();
        return builder.Build();
    }
}
