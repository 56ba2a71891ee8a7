using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using RegistryIntegrity.TestSupport;

// Peak memory of the real services under hostile or large inputs, read from /proc/<pid>/status
// (VmHWM: the process's peak resident set). Bounded: every phase has a fixed duration.
//   dotnet benchmarks/resources/bin/Release/net10.0/RegistryIntegrity.Benchmarks.Resources.dll [listener|verifier] [--connections 10000] [--manifests 100000]
var which = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && !int.TryParse(a, out _)) ?? "both";
var connections = Option("--connections", 10_000);
var manifests = Option("--manifests", 100_000);
if (which is "both" or "listener")
    await MeasureListenerAsync(connections);
if (which is "both" or "verifier")
    await MeasureVerifierAsync(manifests);
return 0;

async Task MeasureListenerAsync(int count)
{
    const string Token = "resources-webhook-token-0123456789";
    await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq);
    await using var listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
    {
        ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
        ["Listener__BearerTokens__0"] = Token,
        ["Logging__LogLevel__Default"] = "Warning",
    });
    using var http = new HttpClient { BaseAddress = listener.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    for (var i = 0; i < 200; i++)
        await PostValidAsync(http);
    var idle = Memory(listener.ProcessId);
    Log($"listener after 200 valid posts: RSS {idle.Rss} MiB, peak {idle.Peak} MiB");

    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    var opened = 0;
    var refused = 0;
    var closedByServer = 0;
    var answers = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
    var header = Encoding.ASCII.GetBytes(
        $"POST /v1/events HTTP/1.1\r\nHost: {listener.BaseUri.Authority}\r\nAuthorization: Bearer {Token}\r\n" +
        "Content-Type: application/vnd.docker.distribution.events.v1+json\r\nContent-Length: 65536\r\n\r\n{\"events\":[");
    var sampler = SampleAsync(listener.ProcessId, stop.Token);
    var clock = Stopwatch.StartNew();
    var slow = Enumerable.Range(0, count).Select(async i =>
    {
        // Spread the connects over the first 5 s: a burst of 10 000 SYNs overflows the accept backlog.
        await Task.Delay(i * 5000 / count);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, listener.BaseUri.Port, stop.Token);
            Interlocked.Increment(ref opened);
            await socket.SendAsync(header, stop.Token);
            var reading = ReadAnswerAsync(socket, stop.Token);
            while (!reading.IsCompleted && !stop.IsCancellationRequested)
            {
                await socket.SendAsync("\"x\""u8.ToArray(), stop.Token);
                await Task.WhenAny(reading, Task.Delay(1000, stop.Token));
            }
            var answer = await reading;
            answers.AddOrUpdate(answer, 1, (_, n) => n + 1);
            Interlocked.Increment(ref closedByServer);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref refused);
        }
        catch (OperationCanceledException)
        {
        }
    }).ToList();

    // A legitimate notification every second while the slow clients hold their connections.
    var legit = 0;
    var legitOk = 0;
    while (clock.Elapsed < TimeSpan.FromSeconds(25))
    {
        legit++;
        if (await PostValidAsync(http))
            legitOk++;
        await Task.Delay(1000);
    }
    await Task.WhenAll(slow);
    var peak = await sampler;
    var after = Memory(listener.ProcessId);
    Log($"listener, {count} slow clients (headers, then 3 bytes/s of a 64 KiB body) for 30 s: connected {opened}, refused/reset {refused}, " +
        $"answered or closed by the Listener {closedByServer} ({string.Join(", ", answers.Select(a => $"{a.Key}: {a.Value}"))})");
    Log($"listener memory: before {idle.Rss} MiB; highest RSS sampled {peak} MiB; VmHWM (peak) {after.Peak} MiB; after {after.Rss} MiB; " +
        $"legitimate posts during the flood: {legitOk}/{legit} answered 2xx");
}

async Task MeasureVerifierAsync(int count)
{
    await using var stack = await LocalStack.StartAsync(StackServices.All);
    using (var pusher = new RegistryPusher(stack.RegistryUri))
    {
        for (var i = 0; i < 3; i++)
            await pusher.PushImageAsync($"real/app{i}", "v1", layers: 1, layerSize: 256);
    }
    var environment = new Dictionary<string, string>
    {
        ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
        ["Registry__BaseUrl"] = stack.RegistryUri.ToString(),
        ["Store__Provider"] = "Postgres",
        ["Store__ConnectionString"] = stack.PostgresConnectionString,
        ["Sweep__Enabled"] = "false",
        ["Logging__LogLevel__Default"] = "Warning",
    };
    var empty = await VerifierPhasesAsync(environment, "empty store");

    var seeding = Stopwatch.StartNew();
    await SeedAsync(stack.PostgresConnectionString, count);
    Log($"seeded {count} manifests (1% broken) in 1 000 repositories, 2 references and 1 tag each, one history row each, in {seeding.Elapsed.TotalSeconds:F1} s");
    var seeded = await VerifierPhasesAsync(environment, $"{count} manifests");
    Log($"verifier peak RSS: empty store {empty} MiB, {count}-manifest store {seeded} MiB");
}

async Task<long> VerifierPhasesAsync(Dictionary<string, string> environment, string label)
{
    await using var verifier = await ServiceProcess.StartAsync("Verifier", environment);
    using var http = new HttpClient { BaseAddress = verifier.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
    var started = Memory(verifier.ProcessId);
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < 5; i++)
        await http.GetStringAsync("/metrics");
    var scrape = clock.Elapsed.TotalMilliseconds / 5;
    await http.GetStringAsync("/v1/status");
    var broken = await http.GetStringAsync("/v1/broken");
    var afterApi = Memory(verifier.ProcessId);
    // A sweep: the whole catalog, then every known repository, queued; the walks of the first of them within 30 s.
    using var sweep = await http.PostAsync("/v1/sweeps", null);
    sweep.EnsureSuccessStatusCode();
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    var peak = await SampleAsync(verifier.ProcessId, stop.Token);
    var progress = await http.GetStringAsync(sweep.Headers.Location);
    var end = Memory(verifier.ProcessId);
    Log($"verifier, {label}: ready RSS {started.Rss} MiB; /metrics scrape {scrape:F0} ms; after 5 scrapes, /v1/status and /v1/broken ({broken.Length / 1024} KiB) RSS {afterApi.Rss} MiB; " +
        $"30 s of sweep: highest RSS sampled {peak} MiB, VmHWM {end.Peak} MiB; sweep progress {Truncate(progress, 400)}");
    return end.Peak;
}

static async Task SeedAsync(string connectionString, int count)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    string[] statements =
    [
        $$"""
        INSERT INTO manifests (repository, digest, media_type, first_seen_ms, result, checked_ms, since_ms, missing_json, missing_count, reasons_json)
        SELECT 'seed/repo-' || lpad((n % 1000)::text, 4, '0'), 'sha256:' || encode(sha256(('m' || n)::bytea), 'hex'),
               'application/vnd.oci.image.manifest.v1+json', 0,
               CASE WHEN n % 100 = 0 THEN 'broken' ELSE 'healthy' END, 0, 0,
               CASE WHEN n % 100 = 0 THEN '[{"kind":"layer","digest":"sha256:' || encode(sha256(('l' || n)::bytea), 'hex') || '","referencedBy":[],"statusCode":404,"errorCode":"BLOB_UNKNOWN"}]' ELSE '[]' END,
               CASE WHEN n % 100 = 0 THEN 1 ELSE 0 END, '[]'
        FROM generate_series(1, {{count}}) AS n
        """,
        """
        INSERT INTO manifest_references (repository, parent_digest, child_digest, kind)
        SELECT repository, digest, 'sha256:' || encode(sha256((digest || k)::bytea), 'hex'), CASE k WHEN 'c' THEN 'Config' ELSE 'Layer' END
        FROM manifests CROSS JOIN (VALUES ('c'), ('l')) AS kinds(k) WHERE repository LIKE 'seed/%'
        """,
        "INSERT INTO tags (repository, tag, digest, updated_ms) SELECT repository, 't' || substr(digest, 8, 12), digest, 0 FROM manifests WHERE repository LIKE 'seed/%'",
        "INSERT INTO verdict_history (repository, digest, result, checked_ms, missing_json, reasons_json) SELECT repository, digest, result, 0, missing_json, reasons_json FROM manifests WHERE repository LIKE 'seed/%'",
        "ANALYZE",
    ];
    foreach (var sql in statements)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 300 };
        await command.ExecuteNonQueryAsync();
    }
}

static async Task<bool> PostValidAsync(HttpClient http)
{
    var now = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
    var body = $$$"""{"events":[{"id":"{{{Guid.NewGuid()}}}","timestamp":"{{{now}}}","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{{{new string('a', 64)}}}","repository":"resources/app"},"source":{"instanceID":"resources"}}]}""";
    using var content = new StringContent(body, Encoding.UTF8, "application/vnd.docker.distribution.events.v1+json");
    try
    {
        using var response = await http.PostAsync("/v1/events", content);
        return response.IsSuccessStatusCode;
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
    {
        return false;
    }
}

static async Task<string> ReadAnswerAsync(Socket socket, CancellationToken cancellationToken)
{
    var buffer = new byte[256];
    try
    {
        var read = await socket.ReceiveAsync(buffer, cancellationToken);
        if (read == 0)
            return "closed without an answer";
        var line = Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
        return line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? line[9..] : line;
    }
    catch (SocketException e)
    {
        return $"reset ({e.SocketErrorCode})";
    }
}

/// <summary>Samples VmRSS every 100 ms until cancelled; the highest value seen.</summary>
static async Task<long> SampleAsync(int processId, CancellationToken cancellationToken)
{
    long highest = 0;
    while (!cancellationToken.IsCancellationRequested)
    {
        highest = Math.Max(highest, Memory(processId).Rss);
        try
        {
            await Task.Delay(100, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
    return highest;
}

/// <summary>VmRSS and VmHWM of a process, in MiB.</summary>
static (long Rss, long Peak) Memory(int processId)
{
    var status = File.ReadAllLines($"/proc/{processId}/status");
    long Field(string name) => long.Parse(status.First(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    return (Field("VmRSS:"), Field("VmHWM:"));
}

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "...";

static void Log(string message) => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {message}");
