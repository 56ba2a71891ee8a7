using System.CommandLine;
using Microsoft.Extensions.Configuration;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Tests.Configuration;

/// <summary>Every setting the Verifier reads: missing, malformed or out of range stops it with one line naming the key.</summary>
public sealed class Configuring_the_verifier : IDisposable
{
    private readonly string _elsewhere = Directory.CreateTempSubdirectory("verifier-cwd-").FullName;

    public void Dispose() => Directory.Delete(_elsewhere, recursive: true);

    /// <summary>A valid base (as appsettings.json gives it) plus <paramref name="settings"/>.</summary>
    private static IReadOnlyList<string> Check(Dictionary<string, string?> settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/",
            ["Registry:BaseUrl"] = "http://127.0.0.1:55000/",
            ["Store:Provider"] = "Sqlite",
            ["Store:ConnectionString"] = "Data Source=verifier.db",
            ["Urls"] = "http://127.0.0.1:5090",
        };
        foreach (var (key, value) in settings)
            values[key] = value;
        return VerifierSettings.Check(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), VerifierParts.Service);
    }

    private static string SingleProblem(Dictionary<string, string?> settings)
    {
        var error = Assert.Throws<SettingsException>(() => Check(settings));
        var problem = Assert.Single(error.Problems);
        Assert.DoesNotContain('\n', problem);
        return problem;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await VerifierCommandLine.Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("Registry:BaseUrl", "")]
    [InlineData("Registry:BaseUrl", "not a url")]
    [InlineData("Registry:BaseUrl", "ftp://registry/")]
    [InlineData("Registry:BlobCheck", "Heed")]
    [InlineData("Registry:MaxConcurrency", "0")]
    [InlineData("Registry:MaxConcurrency", "lots")]
    [InlineData("Registry:MaxRequestsPerSecond", "-1")]
    [InlineData("Registry:RequestTimeout", "abc")]
    [InlineData("Registry:RequestTimeout", "0s")]
    [InlineData("Registry:MaxManifestBytes", "10")]
    [InlineData("Registry:UsernameFile", "/nonexistent/username")]
    [InlineData("Registry:PasswordFile", "/nonexistent/password")]
    [InlineData("Registry:CaCertificateFile", "/nonexistent/ca.pem")]
    [InlineData("Api:BrokenRunbookUrl", "docs/runbook.md")]
    [InlineData("Api:BrokenRunbookUrl", "ftp://wiki/runbook")]
    [InlineData("Store:Provider", "Postgress")]
    [InlineData("Store:ConnectionString", "")]
    [InlineData("Store:ConnectionString", "Data Source=verifier.db;Colour=blue")]
    [InlineData("Store:ConnectionString", "verifier.db")]
    [InlineData("Sweep:Enabled", "maybe")]
    [InlineData("Sweep:Cycle", "soon")]
    [InlineData("Sweep:MinimumCycle", "1s")]
    [InlineData("Sweep:RequestsPerSecondBudget", "0")]
    [InlineData("Sweep:CatalogPageSize", "5000")]
    [InlineData("Sweep:ConcurrentRepositories", "0")]
    [InlineData("Sweep:ConcurrentWalks", "65")]
    [InlineData("Sweep:SchedulerInterval", "0s")]
    [InlineData("ConnectionStrings:RabbitMq", "")]
    [InlineData("ConnectionStrings:RabbitMq", "rabbitmq:5672")]
    [InlineData("RabbitMq:QuorumQueues", "yes")]
    [InlineData("RabbitMq:EventsQueueMaxLength", "lots")]
    [InlineData("RabbitMq:EventsQueueMaxLength", "0")]
    [InlineData("Urls", "localhost:5090")]
    [InlineData("Management:Port", "metrics")]
    [InlineData("Management:Port", "70000")]
    [InlineData("Logging:LogLevel:Default", "Verbose")]
    [InlineData("Api:Tokens:0", "short")]
    [InlineData("Api:Tokens:0", "a-long-enough-api-token\n")]
    [InlineData("Api:ReadsNeedToken", "true")]
    [InlineData("Api:Server", "verifier:5090")]
    [InlineData("Sweep:StaleAfter", "1s")]
    [InlineData("Store:Retention:VerdictHistory", "2h")]
    [InlineData("Store:Retention:ProcessedEvents", "forever")]
    [InlineData("Store:Retention:DeletedManifests", "-1.00:00:00")]
    [InlineData("Store:Retention:Sweeps", "20000.00:00:00")]
    [InlineData("Store:Retention:Interval", "10s")]
    [InlineData("Store:Retention:BatchSize", "10")]
    public void A_bad_setting_is_one_line_naming_the_key(string key, string value)
    {
        Assert.StartsWith(key, SingleProblem(new() { [key] = value }), StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_set_beside_its_file_is_refused_without_echoing_it()
    {
        var passwordFile = Path.GetTempFileName();
        try
        {
            var problem = SingleProblem(new() { ["Registry:Password"] = "s3cret-registry-password", ["Registry:PasswordFile"] = passwordFile });

            Assert.Equal("Set Registry:Password or Registry:PasswordFile, not both.", problem);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    [Fact]
    public void A_malformed_postgres_connection_string_names_the_key_and_not_the_password()
    {
        var problem = SingleProblem(new() { ["Store:Provider"] = "Postgres", ["Store:ConnectionString"] = "Host=db;Password=s3cret;unquoted" });

        Assert.StartsWith("Store:ConnectionString", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Durations_may_be_written_as_operators_write_them()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Registry:BaseUrl", "http://r/"), new("Registry:RequestTimeout", "1.5s")]).Build();
        Assert.Empty(Check(new() { ["Registry:RequestTimeout"] = "1.5s", ["Sweep:Cycle"] = "10m", ["Sweep:MinimumCycle"] = "500s" }));
        Durations.Register();
        Assert.Equal(TimeSpan.FromSeconds(1.5), configuration.GetSection("Registry").Get<RegistryOptions>()!.RequestTimeout);
    }

    [Fact]
    public void An_unknown_key_in_a_section_is_a_warning_naming_it()
    {
        var warning = Assert.Single(Check(new() { ["Registry:BaseUri"] = "http://r/" }));
        Assert.StartsWith("Registry:BaseUri ", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_service_stops_with_exit_64_and_one_line_instead_of_a_stack_trace()
    {
        var (exitCode, output, error) = await RunAsync("--Registry:RequestTimeout=abc");

        Assert.Equal(64, exitCode);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Registry:RequestTimeout", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Store:ConnectionString=Data Source={0}", "Store:ConnectionString")]
    [InlineData("--source-store=Data Source={0}", "--source-store")]
    public async Task Replay_from_a_store_that_does_not_exist_exits_64_naming_it_and_creates_nothing(string argument, string named)
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-store-{Guid.NewGuid():N}", "verifier.db");

        var (exitCode, _, error) = await RunAsync("replay", "--from", "2026-01-01T00:00:00Z", string.Format(System.Globalization.CultureInfo.InvariantCulture, argument, missing),
            "--ConnectionStrings:RabbitMq=amqp://guest:guest@127.0.0.1:1/");

        Assert.True(exitCode == 64, error);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{named} names {missing}, which does not exist", line, StringComparison.Ordinal);
        Assert.False(File.Exists(missing));
    }

    [Theory]
    [InlineData("check", "127.0.0.1:1/team/app:v1", "--plain-http", "--Registry:RequestTimeout=abc")]
    [InlineData("check", "127.0.0.1:1/team/app:v1", "--plain-http", "--Registry:BlobCheck=Heed")]
    [InlineData("sweep", "--Api:Server=verifier:5090")]
    [InlineData("replay", "--from", "2026-01-01T00:00:00Z", "--ConnectionStrings:RabbitMq=nonsense")]
    [InlineData("replay-errors", "--ConnectionStrings:RabbitMq=nonsense")]
    public async Task A_verb_with_a_bad_setting_exits_64_with_one_line_naming_the_key(params string[] args)
    {
        var key = args[^1].TrimStart('-').Split('=')[0];

        var (exitCode, _, error) = await RunAsync(args);

        Assert.True(exitCode == 64, error);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(key, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_service_process_reads_the_settings_beside_its_binary_wherever_it_is_started()
    {
        // Registry:BaseUrl and the broker URI come from appsettings.json beside the binary, not from the working directory.
        await using var verifier = await ServiceProcess.StartAsync("Verifier",
            new Dictionary<string, string> { ["Store__ConnectionString"] = $"Data Source={Path.Combine(_elsewhere, "verifier.db")}" },
            workingDirectory: _elsewhere, readyPath: "/healthz/live", readyWithin: TimeSpan.FromSeconds(30));

        Assert.False(verifier.HasExited, verifier.Output);
    }

    [Fact]
    public async Task The_service_process_reports_an_invalid_base_url_once_and_exits_64()
    {
        var result = await ServiceProcess.RunCommandAsync("Verifier", ["--Registry:BaseUrl=not a url"], new Dictionary<string, string>(), TimeSpan.FromSeconds(30), _elsewhere);

        Assert.True(result.ExitCode == 64, result.ToString());
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("verifier: Registry:BaseUrl", line, StringComparison.Ordinal);
    }
}
