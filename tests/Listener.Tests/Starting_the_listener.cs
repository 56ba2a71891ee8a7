using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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

    [Fact]
    public void Without_any_credential_refuses_to_start()
    {
        using var app = new UnconfiguredApp([]);
        var error = Assert.Throws<OptionsValidationException>(() => app.CreateClient());
        Assert.Contains("AllowAnonymous", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_short_token_refuses_to_start()
    {
        using var app = new UnconfiguredApp(new() { ["Listener:BearerTokens:0"] = "short" });
        Assert.Throws<OptionsValidationException>(() => app.CreateClient());
    }

    [Theory]
    [InlineData("a-long-enough-token-0123\n")]
    [InlineData("a-long-enough-token-0123\r\n")]
    [InlineData("  a-long-enough-token-0123\t")]
    public void A_token_with_surrounding_whitespace_matches_the_token_without_it(string configured)
    {
        using var app = new UnconfiguredApp(new() { ["Listener:BearerTokens:0"] = configured });
        using var client = app.CreateClient();
        var authenticator = app.Services.GetRequiredService<RegistryIntegrity.Listener.Authentication.WebhookAuthenticator>();

        Assert.True(authenticator.IsAuthorized("Bearer a-long-enough-token-0123"));
    }

    [Theory]
    [InlineData("a-long-enough token-0123")]
    [InlineData("a-long-enough-token,0123")]
    public void A_token_with_whitespace_or_a_comma_inside_refuses_to_start_naming_the_key(string configured)
    {
        using var app = new UnconfiguredApp(new() { ["Listener:BearerTokens:0"] = "another-long-enough-token", ["Listener:BearerTokens:1"] = configured });
        var error = Assert.Throws<OptionsValidationException>(() => app.CreateClient());
        Assert.Contains("Listener:BearerTokens:1", error.Message, StringComparison.Ordinal);
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
        using var app = new UnconfiguredApp(new()
        {
            ["Listener:BearerTokens:0"] = "a-long-enough-token",
            ["Listener:BasicCredentials:0:Username"] = username,
            ["Listener:BasicCredentials:0:Password"] = password,
        });
        var error = Assert.Throws<OptionsValidationException>(() => app.CreateClient());
        Assert.Contains("BasicCredentials", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Listener:Quarantine:MaxMessages", "0")]
    [InlineData("Listener:Quarantine:MaxBodyBytes", "10")]
    [InlineData("Listener:PublishTimeout", "00:00:00")]
    [InlineData("Listener:MaxConcurrentConnections", "1")]
    public void With_an_out_of_range_setting_refuses_to_start(string key, string value)
    {
        using var app = new UnconfiguredApp(new() { ["Listener:BearerTokens:0"] = "a-long-enough-token", [key] = value });
        var error = Assert.Throws<OptionsValidationException>(() => app.CreateClient());
        Assert.Contains(key.Split(':')[^1], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_AllowAnonymous_starts_without_credentials()
    {
        using var app = new UnconfiguredApp(new() { ["Listener:AllowAnonymous"] = "true" });
        using var client = app.CreateClient();
        Assert.NotNull(client);
    }
}
