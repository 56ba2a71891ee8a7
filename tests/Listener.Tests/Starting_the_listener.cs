using Microsoft.AspNetCore.Hosting;
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

    [Fact]
    public void With_AllowAnonymous_starts_without_credentials()
    {
        using var app = new UnconfiguredApp(new() { ["Listener:AllowAnonymous"] = "true" });
        using var client = app.CreateClient();
        Assert.NotNull(client);
    }
}
