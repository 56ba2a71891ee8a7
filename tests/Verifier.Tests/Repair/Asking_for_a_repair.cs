using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;

namespace RegistryIntegrity.Verifier.Tests.Repair;

/// <summary>The service with a token set, a store and a registry nobody answers on: enough for every refusal.</summary>
public sealed class RepairApiApp : IAsyncLifetime
{
    public const string Token = "repair-api-token-0123456789";
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"repair-api-{Guid.NewGuid():N}.db");

    public WebApplicationFactory<Program> App { get; private set; } = null!;

    public Task InitializeAsync()
    {
        App = Create(_database, Token);
        _ = App.Server;
        return Task.CompletedTask;
    }

    /// <param name="token">The one <c>Api:Tokens</c> entry; none when null.</param>
    public static WebApplicationFactory<Program> Create(string database, string? token) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:RabbitMq", "amqp://guest:guest@127.0.0.1:1/");
            builder.UseSetting("Registry:BaseUrl", $"http://127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/");
            builder.UseSetting("Store:Provider", "Sqlite");
            builder.UseSetting("Store:ConnectionString", $"Data Source={database}");
            if (token is not null)
                builder.UseSetting("Api:Tokens:0", token);
            builder.UseSetting("Repair:Sources:0:BaseUrl", $"http://127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/");
            builder.ConfigureTestServices(services => services.AddMassTransitTestHarness());
        });

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        File.Delete(_database);
    }
}

/// <summary><c>POST /v1/repairs</c> and the <c>repair</c> verb: who may ask, and a clear answer to every malformed request.</summary>
public sealed class Asking_for_a_repair(RepairApiApp fixture) : IClassFixture<RepairApiApp>
{
    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string? body, string? token = RepairApiApp.Token, string contentType = "application/json")
    {
        using var http = fixture.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/repairs");
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, contentType);
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-wrong-token")]
    public async Task Without_a_valid_token_the_api_refuses_with_401(string? token)
    {
        var (status, _) = await PostAsync("{\"all\":true}", token);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Without_api_tokens_configured_a_repair_that_would_write_is_refused_with_403_and_a_dry_run_is_not()
    {
        var database = Path.Combine(Path.GetTempPath(), $"repair-api-open-{Guid.NewGuid():N}.db");
        try
        {
            await using var open = RepairApiApp.Create(database, token: null);
            using var http = open.CreateClient();

            using var apply = await http.PostAsync("/v1/repairs", new StringContent("{\"all\":true,\"apply\":true}", Encoding.UTF8, "application/json"));
            using var dryRun = await http.PostAsync("/v1/repairs", new StringContent("{\"all\":true}", Encoding.UTF8, "application/json"));

            Assert.Equal(HttpStatusCode.Forbidden, apply.StatusCode);
            Assert.Contains("Api:Tokens", JsonDocument.Parse(await apply.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, dryRun.StatusCode);
        }
        finally
        {
            File.Delete(database);
        }
    }

    [Theory]
    [InlineData("", "the body is empty")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("{\"all\":", "not valid JSON")]
    [InlineData("{\"all\":\"yes\"}", "'all' must be true or false")]
    [InlineData("{\"repository\":5}", "'repository' must be a string")]
    [InlineData("{\"force\":true}", "unknown field 'force'")]
    [InlineData("{}", "name what to repair")]
    [InlineData("{\"all\":true,\"repository\":\"team/app\"}", "not both")]
    [InlineData("{\"repository\":\"Team/App\"}", "is not a repository name")]
    [InlineData("{\"repository\":\"team/app\",\"digest\":\"sha256:12\"}", "is not a digest")]
    [InlineData("{\"repository\":\"team/app\",\"tag\":\"-v1\"}", "is not a tag")]
    [InlineData("{\"repository\":\"team/app\",\"tag\":\"v1\",\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}", "a digest or a tag, not both")]
    public async Task A_malformed_request_gets_400_saying_what_is_wrong(string body, string problem)
    {
        var (status, answer) = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(problem, JsonDocument.Parse(answer).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_body_or_another_content_type_gets_400()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("{\"repository\":\"" + new string('a', 20_000) + "\"}")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("all=true", contentType: "application/x-www-form-urlencoded")).Status);
    }

    [Fact]
    public async Task With_nothing_broken_a_repair_of_all_has_nothing_to_do()
    {
        var (status, answer) = await PostAsync("{\"all\":true,\"apply\":true}");

        Assert.Equal(HttpStatusCode.OK, status);
        using var json = JsonDocument.Parse(answer);
        Assert.Equal(("nothing-to-do", 0), (json.RootElement.GetProperty("result").GetString(), json.RootElement.GetProperty("exitCode").GetInt32()));
    }

    private static async Task<(int ExitCode, string Output, string Error)> VerbAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await VerifierCommandLine.InvokeAsync(["repair", .. args], new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData(new string[0], "name what to repair")]
    [InlineData(new[] { "Team/App" }, "is not a repository name")]
    [InlineData(new[] { "team/app", "--all" }, "not both")]
    [InlineData(new[] { "team/app@sha256:xyz" }, "is not a digest")]
    [InlineData(new[] { "team/app", "stray" }, "unknown argument 'stray'")]
    [InlineData(new[] { "team/app", "--Repair:Sources:0:BaseUrl=ftp://mirror/" }, "Repair:Sources:0:BaseUrl")]
    [InlineData(new[] { "team/app", "--Repair:Sources:0:BaseUrl=http://mirror/", "--Repair:Sources:0:RepositoryMap:0=team/app" }, "Repair:Sources:0:RepositoryMap")]
    [InlineData(new[] { "team/app", "--Repair:ChunkBytes=12" }, "Repair:ChunkBytes")]
    public async Task The_verb_exits_64_naming_the_bad_argument_or_setting(string[] args, string problem)
    {
        var (exitCode, output, error) = await VerbAsync([.. args, "--json", "--Store:ConnectionString=Data Source=" + Path.Combine(Path.GetTempPath(), $"repair-verb-{Guid.NewGuid():N}.db")]);

        Assert.Equal(64, exitCode);
        Assert.Contains(problem, error, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("usage-error", json.RootElement.GetProperty("result").GetString());
    }
}
