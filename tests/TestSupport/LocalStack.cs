using System.Net;
using System.Net.Sockets;

namespace RegistryIntegrity.TestSupport;

/// <summary>
/// Real RabbitMQ, registry and PostgreSQL processes started through scripts/stack.sh on free
/// loopback ports, with their data in a fresh temporary folder.
/// </summary>
public sealed class LocalStack : IAsyncDisposable
{
    public static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(120);

    private readonly string _stackScript;
    private readonly Dictionary<string, string> _environment;
    private bool _disposed;

    private LocalStack(string stackScript, string stackDir, string? listenerUrl, string? webhookToken, IReadOnlyDictionary<string, string>? registryEnvironment)
    {
        _stackScript = stackScript;
        StackDir = stackDir;

        var ports = GetFreeTcpPorts(5);
        ListenerUrl = listenerUrl ?? $"http://127.0.0.1:{ports[4]}/v1/events";
        WebhookToken = webhookToken ?? "test-webhook-token";
        RabbitMqPort = ports[0];
        RabbitMqDistributionPort = ports[1];
        RegistryPort = ports[2];
        PostgresPort = ports[3];

        _environment = new Dictionary<string, string>
        {
            ["STACK_DIR"] = StackDir,
            ["RABBITMQ_PORT"] = Invariant(RabbitMqPort),
            ["RABBITMQ_DIST_PORT"] = Invariant(RabbitMqDistributionPort),
            ["REGISTRY_PORT"] = Invariant(RegistryPort),
            ["POSTGRES_PORT"] = Invariant(PostgresPort),
            ["LISTENER_URL"] = ListenerUrl,
            ["WEBHOOK_TOKEN"] = WebhookToken,
        };
        foreach (var (name, value) in registryEnvironment ?? new Dictionary<string, string>())
        {
            if (!name.StartsWith("REGISTRY_", StringComparison.Ordinal) || _environment.ContainsKey(name))
            {
                throw new ArgumentException($"'{name}' is not a registry configuration override (REGISTRY_<SECTION>_<KEY>).", nameof(registryEnvironment));
            }

            _environment[name] = value;
        }
    }

    public string StackDir { get; }

    public string ListenerUrl { get; }

    public string WebhookToken { get; }

    public int RabbitMqPort { get; }

    public int RabbitMqDistributionPort { get; }

    public int RegistryPort { get; }

    public int PostgresPort { get; }

    public Uri RabbitMqUri => new($"amqp://guest:guest@127.0.0.1:{RabbitMqPort}/");

    public Uri RegistryUri => new($"http://127.0.0.1:{RegistryPort}");

    public string PostgresConnectionString => $"Host=127.0.0.1;Port={PostgresPort};Username=postgres;Database=postgres";

    public string RegistryConfigPath { get; private set; } = "";

    /// <param name="listenerUrl">
    /// Where the registry sends its notifications. When null, a free port nobody listens on:
    /// never the script's default 5080, where a developer's real listener may be running.
    /// </param>
    /// <param name="registryEnvironment">
    /// Overrides of the generated registry config in distribution's own environment form, e.g.
    /// <c>REGISTRY_AUTH=htpasswd</c>, <c>REGISTRY_AUTH_HTPASSWD_PATH=...</c>: the registry process inherits them.
    /// </param>
    public static async Task<LocalStack> StartAsync(
        StackServices which,
        string? listenerUrl = null,
        string? webhookToken = null,
        IReadOnlyDictionary<string, string>? registryEnvironment = null)
    {
        var stackScript = Path.Combine(RepositoryRoot.Find(), "scripts", "stack.sh");
        var stackDir = Path.Combine(Path.GetTempPath(), "rit-stack-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(stackDir);

        var stack = new LocalStack(stackScript, stackDir, listenerUrl, webhookToken, registryEnvironment);
        try
        {
            stack.RegistryConfigPath = (await stack.RunScriptAsync("registry-config")).Trim();
            await stack.StartAsync(which);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts (again) the given services with the same ports and data.</summary>
    public Task StartAsync(StackServices services) => RunScriptAsync(["up", .. ServiceNames(services)]);

    public Task StopAsync(StackServices services) => RunScriptAsync(["down", .. ServiceNames(services)]);

    public Task KillAsync(StackServices services) => RunScriptAsync(["kill", .. ServiceNames(services)]);

    public Task<string> StatusAsync() => RunScriptAsync("status");

    /// <summary>Runs the registry's offline garbage collector; stop the registry first.</summary>
    public async Task<string> RunRegistryGarbageCollectAsync(bool deleteUntagged)
    {
        string[] arguments = deleteUntagged
            ? ["garbage-collect", "-m", RegistryConfigPath]
            : ["garbage-collect", RegistryConfigPath];
        var result = await ProcessRunner.RunAsync("docker-registry", arguments, environment: null, ScriptTimeout);
        result.EnsureSuccess();
        return result.StandardOutput + result.StandardError;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await RunScriptAsync("down");
        }
        finally
        {
            if (Directory.Exists(StackDir))
            {
                Directory.Delete(StackDir, recursive: true);
            }
        }
    }

    public static int[] GetFreeTcpPorts(int count)
    {
        // All listeners stay open until every port is chosen, so the ports are distinct.
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    private async Task<string> RunScriptAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("bash", [_stackScript, .. arguments], _environment, ScriptTimeout);
        return result.EnsureSuccess().StandardOutput;
    }

    private static List<string> ServiceNames(StackServices services)
    {
        if (services == StackServices.None || (services & ~StackServices.All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(services), services, "Name one or more services.");
        }

        var names = new List<string>();
        if (services.HasFlag(StackServices.RabbitMq))
        {
            names.Add("rabbitmq");
        }

        if (services.HasFlag(StackServices.Registry))
        {
            names.Add("registry");
        }

        if (services.HasFlag(StackServices.Postgres))
        {
            names.Add("postgres");
        }

        return names;
    }

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
