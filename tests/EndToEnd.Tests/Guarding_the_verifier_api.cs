using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Api;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The Verifier's API with <c>Api:Tokens</c> set: nobody without a token starts sweeps, and one sweep runs at a time.
/// </summary>
public sealed class Guarding_the_verifier_api : IAsyncLifetime
{
    private const string Token = "api-token-0123456789abcdef";
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"verifier-api-{Guid.NewGuid():N}.db");
    private WebApplicationFactory<Program> _app = null!;

    public async Task InitializeAsync()
    {
        _app = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
            builder.UseSetting("Registry:BaseUrl", $"http://127.0.0.1:{TestSupport.LocalStack.GetFreeTcpPorts(1)[0]}/");
            builder.UseSetting("Store:ConnectionString", $"Data Source={_database}");
            builder.UseSetting("Sweep:Enabled", "false");
            builder.UseSetting("Api:Tokens:0", Token);
            builder.ConfigureTestServices(services => services.AddMassTransitTestHarness());
        });
        await _app.Services.GetRequiredService<MassTransit.Testing.ITestHarness>().Start();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        File.Delete(_database);
    }

    private HttpClient Client(string? token)
    {
        var client = _app.CreateClient();
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-0123456789abcdef")]
    public async Task Starting_a_sweep_without_a_valid_token_is_refused_and_starts_nothing(string? token)
    {
        using var client = Client(token);
        var sweeps = _app.Services.GetRequiredService<ISweepStore>();
        var before = await sweeps.GetLatestSweepAsync(completedOnly: false, CancellationToken.None);

        var response = await client.PostAsync("/v1/sweeps", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(before?.Id, (await sweeps.GetLatestSweepAsync(completedOnly: false, CancellationToken.None))?.Id);
    }

    [Theory]
    [InlineData("/v1/status")]
    [InlineData("/v1/broken")]
    [InlineData("/v1/sweeps/0195f0a0-0000-7000-8000-000000000000")]
    public async Task Reads_need_a_token_when_tokens_are_set(string path)
    {
        using var anonymous = Client(null);
        using var authorized = Client(Token);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await authorized.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task A_request_while_a_sweep_runs_returns_the_running_sweep_and_a_stale_one_does_not_count()
    {
        var sweeps = _app.Services.GetRequiredService<ISweepStore>();
        using var client = Client(Token);
        var running = Guid.CreateVersion7();
        await sweeps.StartSweepAsync(running, "test", DateTimeOffset.UtcNow, CancellationToken.None);

        var joined = await client.PostAsync("/v1/sweeps", null);
        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        Assert.Equal(running, (await joined.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());

        var stale = Guid.CreateVersion7(DateTimeOffset.UtcNow.AddHours(-7));
        await sweeps.FailSweepAsync(running, "test over", DateTimeOffset.UtcNow, CancellationToken.None);
        await sweeps.StartSweepAsync(stale, "test", DateTimeOffset.UtcNow.AddHours(-7), CancellationToken.None);
        var started = await client.PostAsync("/v1/sweeps", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var body = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(stale, body.GetProperty("id").GetGuid());
        Assert.Equal(body.GetProperty("id").GetGuid(), body.GetProperty("progress").GetProperty("id").GetGuid());
    }

    [Fact]
    public void Reads_can_be_left_open_while_writes_still_need_a_token()
    {
        var tokens = new ApiTokens(Options.Create(new ApiOptions { Tokens = [Token], ReadsNeedToken = false }));

        Assert.True(tokens.Allows(ApiAccess.Read, null));
        Assert.False(tokens.Allows(ApiAccess.Write, null));
        Assert.False(tokens.Allows(ApiAccess.Write, "Bearer not-the-token-0123456789"));
        Assert.True(tokens.Allows(ApiAccess.Write, $"Bearer {Token}"));
    }
}
