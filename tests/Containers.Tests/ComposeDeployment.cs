using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Containers.Tests;

/// <summary>
/// deploy/compose/compose.yaml brought up whole with podman-compose, on images built from this
/// repository: the Listener and the Verifier on a base image made from Debian packages, and
/// stand-ins for RabbitMQ, PostgreSQL and the registry made from Debian packages too. Each
/// fixture is its own compose project (own network, volumes and loopback ports).
/// </summary>
public sealed class ComposeDeployment : IAsyncLifetime
{
    private const string StandIns = "localhost/registry-integrity-standin";
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(3);

    private readonly string _root = RepositoryRoot.Find();
    private readonly string _secretsDir = Directory.CreateTempSubdirectory("rit-compose-secrets-").FullName;
    private readonly Dictionary<string, string> _environment;

    public ComposeDeployment()
    {
        var ports = LocalStack.GetFreeTcpPorts(4);
        RegistryPort = ports[0];
        ListenerPort = ports[1];
        VerifierPort = ports[2];
        StorageWatcherPort = ports[3];
        Project = "rit-" + Guid.NewGuid().ToString("N")[..8];
        _environment = new Dictionary<string, string>
        {
            ["CONTAINERS_CONF"] = Environment.GetEnvironmentVariable("CONTAINERS_CONF") ?? Path.Combine(_root, "deploy", "containers", "containers.conf"),
            ["SECRETS_DIR"] = _secretsDir,
            ["REGISTRY_IMAGE"] = $"{StandIns}/registry:bookworm",
            ["RABBITMQ_IMAGE"] = $"{StandIns}/rabbitmq:bookworm",
            ["POSTGRES_IMAGE"] = $"{StandIns}/postgres:bookworm",
            ["REGISTRY_BIND"] = "127.0.0.1",
            ["REGISTRY_PORT"] = Invariant(RegistryPort),
            ["LISTENER_PORT"] = Invariant(ListenerPort),
            ["VERIFIER_PORT"] = Invariant(VerifierPort),
            ["STORAGE_WATCHER_PORT"] = Invariant(StorageWatcherPort),
        };
    }

    public string Project { get; }

    public string Network => $"{Project}_default";

    public int RegistryPort { get; }

    public int ListenerPort { get; }

    public int VerifierPort { get; }

    public int StorageWatcherPort { get; }

    public string ListenerImage { get; private set; } = "";

    public string VerifierImage { get; private set; } = "";

    public TimeSpan ImageBuildTime { get; private set; }

    public TimeSpan FirstReadyTime { get; private set; }

    public HttpClient VerifierApi { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task InitializeAsync()
    {
        var build = Stopwatch.StartNew();
        // scripts/test.sh builds the images just before the run (CONTAINER_IMAGES_BUILT=1) so that
        // no publish competes with the other test assemblies; run alone, this fixture builds them.
        if (Environment.GetEnvironmentVariable("CONTAINER_IMAGES_BUILT") != "1")
        {
            await Script(BuildTimeout, "scripts/images.sh", "test-images");
        }
        ImageBuildTime = build.Elapsed;
        var names = (await Script(CommandTimeout, "scripts/images.sh", "names")).StandardOutput.Split(' ', StringSplitOptions.TrimEntries);
        ListenerImage = names[0];
        VerifierImage = names[1];
        _environment["LISTENER_IMAGE"] = ListenerImage;
        _environment["VERIFIER_IMAGE"] = VerifierImage;

        await Script(CommandTimeout, "deploy/compose/make-secrets.sh");
        var up = Stopwatch.StartNew();
        await UpAsync();
        FirstReadyTime = up.Elapsed;
    }

    public async Task UpAsync()
    {
        await Compose("up", "-d");
        await WaitUntilReadyAsync(ListenerPort);
        await WaitUntilReadyAsync(VerifierPort);
        await WaitUntilReadyAsync(StorageWatcherPort);
    }

    public Task DownAsync() => Compose("down");

    public RegistryPusher Registry() => new(new Uri($"http://127.0.0.1:{RegistryPort}"));

    /// <summary>The compose container of a service, e.g. "listener".</summary>
    public string Container(string service) => $"{Project}_{service}_1";

    internal Task<ProcessResult> Podman(params string[] arguments) =>
        ProcessRunner.RunAsync("podman", arguments, _environment, CommandTimeout);

    internal async Task<ProcessResult> Git(params string[] arguments) =>
        (await ProcessRunner.RunAsync("git", ["-C", _root, .. arguments], null, CommandTimeout)).EnsureSuccess();

    public async Task<JsonElement?> ManifestAsync(string repository, string digest)
    {
        using var response = await VerifierApi.GetAsync(Api($"/v1/manifests?repository={repository}&digest={digest}"));
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : null;
    }

    public async Task<JsonElement> BrokenAsync() =>
        await VerifierApi.GetFromJsonAsync<JsonElement>(Api("/v1/broken"));

    public Uri Api(string pathAndQuery) => new($"http://127.0.0.1:{VerifierPort}{pathAndQuery}");

    public async Task<string> LogsAsync()
    {
        var logs = new List<string>();
        foreach (var service in new[] { "registry", "rabbitmq", "postgres", "listener", "storage-watcher", "verifier" })
        {
            var result = await Podman("logs", "--tail", "40", Container(service));
            logs.Add($"--- {service} ---\n{result.StandardOutput}{result.StandardError}");
        }
        return string.Join('\n', logs);
    }

    public async Task DisposeAsync()
    {
        VerifierApi.Dispose();
        try
        {
            await Compose("down", "--volumes");
            // podman-compose 1.0.3 leaves the project's network behind.
            await Podman("network", "rm", Network);
        }
        finally
        {
            Directory.Delete(_secretsDir, recursive: true);
        }
    }

    private async Task WaitUntilReadyAsync(int port)
    {
        // RabbitMQ takes most of this: the services become ready once their broker connection is up.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await VerifierApi.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz/ready"));
                if (response.IsSuccessStatusCode)
                    return;
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"127.0.0.1:{port}/healthz/ready not 200 within 2 min. Last: {last}\n{await LogsAsync()}");
    }

    private async Task Compose(params string[] arguments)
    {
        string[] all = ["-p", Project, "-f", Path.Combine(_root, "deploy", "compose", "compose.yaml"), .. arguments];
        (await ProcessRunner.RunAsync("podman-compose", all, _environment, CommandTimeout)).EnsureSuccess();
    }

    private async Task<ProcessResult> Script(TimeSpan timeout, string script, params string[] arguments) =>
        (await ProcessRunner.RunAsync(Path.Combine(_root, script), arguments, _environment, timeout)).EnsureSuccess();

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
