using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The whole product, really started: registry 2.8.2 notifies the Listener process, which sends
/// through RabbitMQ to the Verifier process, which walks the registry and stores verdicts in SQLite.
/// Scheduled sweeps are off so that each test decides when a sweep runs.
/// </summary>
public class RunningProduct : IAsyncLifetime
{
    private const string Token = "e2e-webhook-token-0123456789";
    private string _dataDir = null!;

    /// <summary>Without a Listener the registry's notifications go nowhere (it keeps retrying them in memory).</summary>
    protected virtual bool StartListener => true;

    protected virtual IReadOnlyDictionary<string, string> ExtraVerifierSettings => new Dictionary<string, string>();

    /// <summary>How to run the Verifier (service or CLI verbs) against this stack.</summary>
    public Dictionary<string, string> VerifierEnvironment { get; private set; } = null!;

    public string DataDir => _dataDir;

    public LocalStack Stack { get; private set; } = null!;
    public ServiceProcess? Listener { get; private set; }
    public ServiceProcess Verifier { get; private set; } = null!;
    public HttpClient VerifierApi { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // The registry needs the Listener's URL in its config, so the Listener's port is chosen first.
        var listenerPort = LocalStack.GetFreeTcpPorts(1)[0];
        Stack = await LocalStack.StartAsync(StackServices.RabbitMq | StackServices.Registry, $"http://127.0.0.1:{listenerPort}/v1/events", Token);
        _dataDir = Directory.CreateTempSubdirectory("rit-e2e-").FullName;
        VerifierEnvironment = new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = Stack.RabbitMqUri.ToString(),
            ["Registry__BaseUrl"] = Stack.RegistryUri.ToString(),
            ["Store__ConnectionString"] = $"Data Source={Path.Combine(_dataDir, "verifier.db")}",
            ["Sweep__Enabled"] = "false",
        };
        foreach (var (key, value) in ExtraVerifierSettings)
            VerifierEnvironment[key] = value;
        Verifier = await ServiceProcess.StartAsync("Verifier", VerifierEnvironment);
        if (StartListener)
        {
            Listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
            {
                ["ConnectionStrings__RabbitMq"] = Stack.RabbitMqUri.ToString(),
                ["Listener__BearerTokens__0"] = Token,
            }, fixedPort: listenerPort);
        }
        VerifierApi = new HttpClient { BaseAddress = Verifier.BaseUri };
    }

    public async Task DisposeAsync()
    {
        VerifierApi.Dispose();
        if (Listener is not null)
            await Listener.DisposeAsync();
        await Verifier.DisposeAsync();
        await Stack.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    public RegistryPusher Registry() => new(Stack.RegistryUri);

    /// <summary>Replaces the Verifier process (same stack) with one using <paramref name="settings"/> on top of the usual ones.</summary>
    public async Task RestartVerifierAsync(IReadOnlyDictionary<string, string> settings)
    {
        await Verifier.DisposeAsync();
        VerifierApi.Dispose();
        foreach (var (key, value) in settings)
            VerifierEnvironment[key] = value;
        Verifier = await ServiceProcess.StartAsync("Verifier", VerifierEnvironment);
        VerifierApi = new HttpClient { BaseAddress = Verifier.BaseUri };
    }

    public Task<(int ExitCode, string Output)> RunVerifierVerbAsync(params string[] arguments) =>
        // Verbs that start or follow sweeps talk to the running Verifier's API.
        ServiceProcess.RunVerbAsync("Verifier", arguments, new Dictionary<string, string>(VerifierEnvironment) { ["Api__Server"] = Verifier.BaseUri.ToString() }, TimeSpan.FromMinutes(3));

    /// <summary>
    /// Starts a sweep that begins now. One sweep runs at a time and a request while one runs joins it (200): a sweep
    /// started before what the test just did (the first event's restart sweep, say) is waited out, then asked again.
    /// </summary>
    /// <returns>The new sweep's location (answered 202).</returns>
    public async Task<Uri> StartFreshSweepAsync(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            using var response = await VerifierApi.PostAsync("/v1/sweeps", null);
            if (response.StatusCode == System.Net.HttpStatusCode.Accepted)
                return response.Headers.Location!;
            if (response.StatusCode != System.Net.HttpStatusCode.OK || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"POST /v1/sweeps answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            var running = await response.Content.ReadFromJsonAsync<JsonElement>();
            await WaitForSweepAsync(new Uri($"/v1/sweeps/{running.GetProperty("id").GetString()}", UriKind.Relative), deadline - DateTime.UtcNow);
        }
    }

    public async Task<JsonElement> WaitForSweepAsync(Uri location, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var body = await VerifierApi.GetFromJsonAsync<JsonElement>(location);
            if (body.GetProperty("status").GetString() is "completed" or "failed")
                return body;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Sweep {location} not finished within {within.TotalSeconds} s: {body}\n--- verifier ---\n{Verifier.Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>Polls the Verifier's API until the manifest's current verdict is <paramref name="result"/>.</summary>
    public async Task<JsonElement> WaitForVerdictAsync(string repository, string digest, string result, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var response = await VerifierApi.GetAsync($"/v1/manifests?repository={repository}&digest={digest}");
            if (response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                last = body.ToString();
                if (body.GetProperty("manifest").GetProperty("result").GetString() == result)
                    return body.GetProperty("manifest");
            }
            await Task.Delay(100);
        }
        throw new TimeoutException(
            $"No {result} verdict for {repository}@{digest} within {within.TotalSeconds} s. Last: {last}\n" +
            $"--- listener ---\n{Listener?.Output}\n--- verifier ---\n{Verifier.Output}");
    }
}
