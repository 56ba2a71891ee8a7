using System.Globalization;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Faults.Tests;

/// <summary>
/// The whole product as real processes: registry 2.8.2 notifying the Listener, RabbitMQ, and the
/// Verifier storing into PostgreSQL, every one of which a scenario may kill or stop. Ports are
/// fixed for the life of the fixture so that a restarted service is found where it was.
/// </summary>
public class FaultyProduct : IAsyncLifetime
{
    public virtual string WebhookToken => "faults-webhook-token-0123456789";

    /// <summary>Basic credentials the registry demands (htpasswd), or null for an open registry.</summary>
    public virtual (string User, string Password)? RegistryCredentials => null;

    private readonly int _listenerPort = LocalStack.GetFreeTcpPorts(1)[0];
    private readonly int _verifierPort = LocalStack.GetFreeTcpPorts(1)[0];

    public LocalStack Stack { get; private set; } = null!;
    public ServiceProcess Listener { get; private set; } = null!;
    public ServiceProcess Verifier { get; private set; } = null!;
    public Dictionary<string, string> VerifierEnvironment { get; private set; } = null!;
    public Dictionary<string, string> ListenerEnvironment { get; private set; } = null!;
    /// <summary>Where the fault report is written (kept after the run).</summary>
    public string ReportDirectory => _reportDirectory.Value;

    private readonly Lazy<string> _reportDirectory = new(() => Directory.CreateTempSubdirectory("rit-faults-report-").FullName);

    public Uri ListenerBase => new($"http://127.0.0.1:{_listenerPort}");
    public Uri VerifierBase => new($"http://127.0.0.1:{_verifierPort}");

    /// <summary>The registry's current <c>source.instanceID</c>, learnt from its first event; direct posts use it too.</summary>
    public string? RegistryInstanceId { get; set; }

    public string Connection => Stack.PostgresConnectionString + ";Pooling=false;Timeout=5";

    public async Task InitializeAsync()
    {
        Stack = await LocalStack.StartAsync(StackServices.All, $"{ListenerBase}v1/events", WebhookToken, await RegistryEnvironmentAsync());
        VerifierEnvironment = new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = Stack.RabbitMqUri.ToString(),
            ["Registry__BaseUrl"] = Stack.RegistryUri.ToString(),
            ["Registry__RequestTimeout"] = "00:00:02",
            ["Store__Provider"] = "Postgres",
            ["Store__ConnectionString"] = Stack.PostgresConnectionString,
            ["Sweep__Enabled"] = "false",
        };
        if (RegistryCredentials is var (user, password))
        {
            VerifierEnvironment["Registry__Username"] = user;
            VerifierEnvironment["Registry__Password"] = password;
        }
        ListenerEnvironment = new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = Stack.RabbitMqUri.ToString(),
            ["Listener__BearerTokens__0"] = WebhookToken,
        };
        Configure(ListenerEnvironment, VerifierEnvironment);
        await StartVerifierAsync();
        await StartListenerAsync();

        // Direct posts carry the registry's own instance id, so they do not look like a restarted registry (which starts a sweep).
        using var registry = Registry();
        await registry.PushImageAsync("faults/warm-up", "v1", layers: 1, layerSize: 256);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((RegistryInstanceId = await LatestRegistryInstanceIdAsync()) is null)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The first registry event never reached the store.\n--- listener ---\n{Listener.Output}\n--- verifier ---\n{Verifier.Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>Settings on top of the usual ones, before the services start.</summary>
    protected virtual void Configure(Dictionary<string, string> listener, Dictionary<string, string> verifier)
    {
    }

    public RegistryPusher Registry() => RegistryCredentials is var (user, password)
        ? new RegistryPusher(Stack.RegistryUri, user, password)
        : new RegistryPusher(Stack.RegistryUri);

    /// <summary>Overrides of the registry's configuration (<c>REGISTRY_...</c>), e.g. to demand credentials.</summary>
    protected virtual Task<IReadOnlyDictionary<string, string>?> RegistryEnvironmentAsync() => Task.FromResult<IReadOnlyDictionary<string, string>?>(null);

    public async Task StartListenerAsync() =>
        Listener = await ServiceProcess.StartAsync("Listener", ListenerEnvironment, fixedPort: _listenerPort);

    public async Task StartVerifierAsync() =>
        Verifier = await ServiceProcess.StartAsync("Verifier", VerifierEnvironment, fixedPort: _verifierPort);

    public Task<(int ExitCode, string Output)> RunVerifierVerbAsync(params string[] arguments) =>
        // Verbs that start or follow sweeps talk to the running Verifier's API.
        ServiceProcess.RunVerbAsync("Verifier", arguments, new Dictionary<string, string>(VerifierEnvironment) { ["Api__Server"] = Verifier.BaseUri.ToString() }, TimeSpan.FromMinutes(2));

    public virtual async Task DisposeAsync()
    {
        if (Listener is not null)
            await Listener.DisposeAsync();
        if (Verifier is not null)
            await Verifier.DisposeAsync();
        if (Stack is not null)
            await Stack.DisposeAsync();
    }

    public async Task<HashSet<string>> ProcessedEventIdsAsync()
    {
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT event_id FROM processed_events", connection);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>(repository, digest) of every live manifest with a verdict, and that verdict.</summary>
    public async Task<Dictionary<(string Repository, string Digest), string>> VerdictsAsync()
    {
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT repository, digest, result FROM manifests WHERE result IS NOT NULL AND deleted_ms IS NULL", connection);
        var verdicts = new Dictionary<(string, string), string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            verdicts[(reader.GetString(0), reader.GetString(1))] = reader.GetString(2);
        return verdicts;
    }

    /// <summary>Every tag the store holds as dangling (listed by the registry, its manifest answering 404), as "repository:tag".</summary>
    public async Task<List<string>> DanglingTagsAsync()
    {
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT repository, tag FROM dangling_tags ORDER BY repository, tag", connection);
        var tags = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            tags.Add($"{reader.GetString(0)}:{reader.GetString(1)}");
        return tags;
    }

    /// <summary>What the registry answers now for a manifest by tag ("repository:tag").</summary>
    public async Task<System.Net.HttpStatusCode> RegistryStatusOfTagAsync(string repositoryAndTag)
    {
        var (repository, tag) = (repositoryAndTag[..repositoryAndTag.LastIndexOf(':')], repositoryAndTag[(repositoryAndTag.LastIndexOf(':') + 1)..]);
        using var http = new HttpClient { BaseAddress = Stack.RegistryUri };
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{tag}");
        foreach (var mediaType in MediaTypes.AllManifests)
            request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue(mediaType));
        if (RegistryCredentials is var (user, password))
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    public async Task<List<string>> EventIdsStoredTwiceInHistoryAsync()
    {
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT event_id FROM verdict_history WHERE event_id IS NOT NULL GROUP BY event_id HAVING COUNT(*) > 1", connection);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            ids.Add(reader.GetString(0));
        return ids;
    }

    public async Task<string?> LatestRegistryInstanceIdAsync()
    {
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT source_instance_id FROM processed_events WHERE source_instance_id IS NOT NULL ORDER BY processed_ms DESC LIMIT 1", connection);
        return await command.ExecuteScalarAsync() as string;
    }

    /// <summary>Messages waiting in a queue, or 0 when the queue does not exist.</summary>
    public async Task<uint> QueueDepthAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = Stack.RabbitMqUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException)
        {
            return 0;
        }
    }

    /// <summary>The sum of every series of a metric in a Prometheus text exposition.</summary>
    public static double MetricSum(string exposition, string name) =>
        exposition.Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && (line.Length > name.Length && (line[name.Length] is ' ' or '{')))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
