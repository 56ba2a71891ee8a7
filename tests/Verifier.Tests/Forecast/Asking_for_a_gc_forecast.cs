using System.CommandLine;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Verifier.Cli;

namespace RegistryIntegrity.Verifier.Tests.Forecast;

/// <summary><c>GET /v1/gc-forecast</c> as the service composes it (store on SQLite, no broker), and the verb's own answers.</summary>
public sealed class Asking_for_a_gc_forecast : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"verifier-forecast-{Guid.NewGuid():N}.db");
    private WebApplicationFactory<Program> _app = null!;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        _app = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
            builder.UseSetting("Registry:BaseUrl", "http://127.0.0.1:1/");
            builder.UseSetting("Store:Provider", "Sqlite");
            builder.UseSetting("Store:ConnectionString", $"Data Source={_database}");
            builder.UseSetting("Sweep:Enabled", "false");
            builder.ConfigureTestServices(services => services.AddMassTransitTestHarness());
        });
        _api = _app.CreateClient();
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_database);
    }

    [Theory]
    [InlineData("", "'mode' (required)")]
    [InlineData("?mode=-m", "plain or delete-untagged")]
    [InlineData("?mode=plain&version=4", "2.8 or 3")]
    [InlineData("?mode=plain&format=xml", "json (default) or text")]
    [InlineData("?mode=plain&mode=delete-untagged", "once")]
    [InlineData("?mode=plain&dry=1", "Unknown query parameter(s): dry")]
    public async Task Bad_parameters_are_answered_400_saying_what_is_expected(string query, string expected)
    {
        using var response = await _api.GetAsync($"/v1/gc-forecast{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Before_any_sweep_completed_the_answer_is_incomplete_never_safe()
    {
        var json = await _api.GetFromJsonAsync<JsonElement>("/v1/gc-forecast?mode=delete-untagged&version=2.8");
        var text = await _api.GetStringAsync("/v1/gc-forecast?mode=plain&format=text");

        Assert.Equal("incomplete", json.GetProperty("result").GetString());
        Assert.Equal(2, json.GetProperty("exitCode").GetInt32());
        Assert.Equal("delete-untagged", json.GetProperty("mode").GetString());
        Assert.Contains("no sweep has completed yet", json.GetProperty("gaps")[0].GetString(), StringComparison.Ordinal);
        Assert.StartsWith("result: incomplete\n", text, StringComparison.Ordinal);
        Assert.Contains("on distribution 2.8", text, StringComparison.Ordinal); // the configured default version
    }

    [Fact]
    public async Task The_verb_exits_2_when_the_api_cannot_be_reached_and_64_on_a_bad_mode()
    {
        var unreachable = await RunAsync("gc-forecast", "--server", "http://127.0.0.1:1");
        var badMode = await RunAsync("gc-forecast", "--mode", "everything", "--server", "http://127.0.0.1:1");

        Assert.True(unreachable.ExitCode == 2, unreachable.Error);
        Assert.Contains("cannot be reached", unreachable.Error, StringComparison.Ordinal);
        Assert.Equal("", unreachable.Output);
        Assert.True(badMode.ExitCode == 64, badMode.Error);
    }

    /// <summary>Runs a verb in-process, as the command line does.</summary>
    internal static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await VerifierCommandLine.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }
}
