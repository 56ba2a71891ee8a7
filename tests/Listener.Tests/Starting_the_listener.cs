using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using RegistryIntegrity.Hosting.Settings;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Listener.Configuration;

namespace RegistryIntegrity.Listener.Tests;

public class Starting_the_listener
{
    private sealed class UnconfiguredApp(Dictionary<string, string?> settings) : Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
            foreach (var (key, value) in settings)
                builder.UseSetting(key, value);
        }
    }

    /// <summary>The settings as the Listener reads them: a valid base (as appsettings.json gives it) plus <paramref name="settings"/>.</summary>
    private static IReadOnlyList<string> Check(Dictionary<string, string?> settings, bool withToken = true)
    {
        var values = new Dictionary<string, string?> { ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/", ["Urls"] = "http://127.0.0.1:5080" };
        if (withToken)
            values["Listener:BearerTokens:0"] = "a-long-enough-token";
        foreach (var (key, value) in settings)
            values[key] = value;
        return ListenerSettings.Check(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
    }

    private static string SingleProblem(Dictionary<string, string?> settings, bool withToken = true)
    {
        var error = Assert.Throws<SettingsException>(() => Check(settings, withToken));
        var problem = Assert.Single(error.Problems);
        Assert.DoesNotContain('\n', problem);
        return problem;
    }

    [Fact]
    public void Without_any_credential_refuses_to_start()
    {
        Assert.Contains("AllowAnonymous", SingleProblem([], withToken: false), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a-long-enough-token-0123\n")]
    [InlineData("a-long-enough-token-0123\r\n")]
    [InlineData("  a-long-enough-token-0123\t")]
    public void A_token_with_surrounding_whitespace_matches_the_token_without_it(string configured)
    {
        Assert.Empty(Check(new() { ["Listener:BearerTokens:0"] = configured }, withToken: false));
        var options = new ListenerOptions { BearerTokens = [configured] };
        new TrimBearerTokens().PostConfigure(null, options);
        var authenticator = new RegistryIntegrity.Listener.Authentication.WebhookAuthenticator(Options.Create(options));

        Assert.True(authenticator.IsAuthorized("Bearer a-long-enough-token-0123"));
    }

    [Theory]
    [InlineData("a-long-enough token-0123")]
    [InlineData("a-long-enough-token,0123")]
    public void A_token_with_whitespace_or_a_comma_inside_refuses_to_start_naming_the_key(string configured)
    {
        var problem = SingleProblem(new() { ["Listener:BearerTokens:0"] = "another-long-enough-token", ["Listener:BearerTokens:1"] = configured }, withToken: false);
        Assert.Contains("Listener:BearerTokens:1", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void With_basic_credentials_alone_starts()
    {
        using var app = new UnconfiguredApp(new()
        {
            ["Listener:BasicCredentials:0:Username"] = "registry",
            ["Listener:BasicCredentials:0:Password"] = "a-long-enough-password",
        });
        using var client = app.CreateClient();
        Assert.NotNull(client);
    }

    [Theory]
    [InlineData("registry", "short")]
    [InlineData("", "a-long-enough-password")]
    [InlineData("user:name", "a-long-enough-password")]
    public void With_weak_or_malformed_basic_credentials_refuses_to_start(string username, string password)
    {
        var problem = SingleProblem(new()
        {
            ["Listener:BasicCredentials:0:Username"] = username,
            ["Listener:BasicCredentials:0:Password"] = password,
        });
        Assert.Contains("Listener:BasicCredentials", problem, StringComparison.Ordinal);
    }

    /// <summary>Every setting the Listener reads, missing, malformed or out of range: one line that names the key.</summary>
    [Theory]
    [InlineData("Listener:BearerTokens:0", "short", "Listener:BearerTokens")]
    [InlineData("Listener:AllowAnonymous", "sometimes", "Listener:AllowAnonymous")]
    [InlineData("Listener:MaxBodyBytes", "10", "Listener:MaxBodyBytes")]
    [InlineData("Listener:MaxBodyBytes", "1MB", "Listener:MaxBodyBytes")]
    [InlineData("Listener:PublishTimeout", "00:00:00", "Listener:PublishTimeout")]
    [InlineData("Listener:PublishTimeout", "abc", "Listener:PublishTimeout")]
    [InlineData("Listener:RequestBodyTimeout", "forever", "Listener:RequestBodyTimeout")]
    [InlineData("Listener:MaxConcurrentConnections", "1", "Listener:MaxConcurrentConnections")]
    [InlineData("Listener:ShutdownTimeout", "11m", "Listener:ShutdownTimeout")]
    [InlineData("Listener:Quarantine:MaxMessages", "0", "Listener:Quarantine:MaxMessages")]
    [InlineData("Listener:Quarantine:MaxBodyBytes", "10", "Listener:Quarantine:MaxBodyBytes")]
    [InlineData("ConnectionStrings:RabbitMq", "", "ConnectionStrings:RabbitMq")]
    [InlineData("ConnectionStrings:RabbitMq", "http://rabbitmq:5672/", "ConnectionStrings:RabbitMq")]
    [InlineData("ConnectionStrings:RabbitMq", "rabbitmq:5672", "ConnectionStrings:RabbitMq")]
    [InlineData("RabbitMq:QuorumQueues", "yes", "RabbitMq:QuorumQueues")]
    [InlineData("RabbitMq:EventsQueueMaxLength", "lots", "RabbitMq:EventsQueueMaxLength")]
    [InlineData("RabbitMq:EventsQueueMaxLength", "0", "RabbitMq:EventsQueueMaxLength")]
    [InlineData("Management:Port", "metrics", "Management:Port")]
    [InlineData("Management:Port", "0", "Management:Port")]
    [InlineData("Urls", "localhost:5080", "Urls")]
    [InlineData("Logging:LogLevel:Default", "Loud", "Logging:LogLevel:Default")]
    public void With_a_bad_setting_refuses_to_start_with_one_line_naming_the_key(string key, string value, string named)
    {
        Assert.StartsWith(named, SingleProblem(new() { [key] = value }), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.5s", 1500)]
    [InlineData("500ms", 500)]
    [InlineData("00:00:02", 2000)]
    public void Durations_may_be_written_short(string value, int milliseconds)
    {
        Assert.Empty(Check(new() { ["Listener:PublishTimeout"] = value }));
        var options = new ConfigurationBuilder().AddInMemoryCollection([new("Listener:PublishTimeout", value)]).Build()
            .GetSection("Listener").Get<ListenerOptions>()!;
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), options.PublishTimeout);
    }

    [Fact]
    public void An_unknown_key_in_its_section_is_a_warning_naming_it()
    {
        var warning = Assert.Single(Check(new() { ["Listener:BearerToken"] = "a-long-enough-token" }));
        Assert.Contains("Listener:BearerToken ", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void With_AllowAnonymous_starts_without_credentials()
    {
        using var app = new UnconfiguredApp(new() { ["Listener:AllowAnonymous"] = "true" });
        using var client = app.CreateClient();
        Assert.NotNull(client);
    }
}
