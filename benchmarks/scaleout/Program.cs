using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using RegistryIntegrity.Benchmarks.Verifier;
using RegistryIntegrity.TestSupport;

// 1, 2 and 3 Verifier processes on the same RabbitMQ queues and the same PostgreSQL store run a
// backfill (a sweep of the whole catalog) of the real registry 2.8.2; each replica count gets a fresh
// database. Reports manifests/s, checks the verdicts are the same as with one replica and that every
// replica's count gauges agree. Every process is stopped at the end.
//   dotnet benchmarks/scaleout/bin/Release/net10.0/RegistryIntegrity.Benchmarks.ScaleOut.dll [--repos 40] [--tags 3] [--rounds 2]
var repositories = Option("--repos", 40);
var tags = Option("--tags", 3);
var rounds = Option("--rounds", 2);
LocalStack? stack = null;
var replicas = new List<ServiceProcess>();
try
{
    Log("starting registry 2.8.2, RabbitMQ and PostgreSQL");
    stack = await LocalStack.StartAsync(StackServices.All);
    using var pusher = new RegistryPusher(stack.RegistryUri);
    var clock = Stopwatch.StartNew();
    var catalog = await Catalog.PushAsync(pusher, repositories, tags);
    var manifests = catalog.Sum(t => t.ManifestDigests.Count);
    Log($"pushed {catalog.Count} indexes ({manifests} manifests) in {clock.Elapsed.TotalSeconds:F1} s");

    var results = new List<(int Replicas, int Round, double Seconds, double PerSecond, string Gauges)>();
    HashSet<string>? reference = null;
    foreach (var count in new[] { 1, 2, 3 })
    {
        for (var round = 1; round <= rounds; round++)
        {
            var database = $"scaleout_{count}_{round}";
            await ExecuteAsync(stack.PostgresConnectionString, $"CREATE DATABASE {database}");
            var store = $"{stack.PostgresConnectionString.Replace("Database=postgres", $"Database={database}", StringComparison.Ordinal)}";
            for (var i = 0; i < count; i++)
            {
                replicas.Add(await ServiceProcess.StartAsync("Verifier", new Dictionary<string, string>
                {
                    ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
                    ["Registry__BaseUrl"] = stack.RegistryUri.ToString(),
                    ["Registry__MaxRequestsPerSecond"] = "0",
                    ["Store__Provider"] = "Postgres",
                    ["Store__ConnectionString"] = store,
                    ["Sweep__Enabled"] = "false",
                    ["Logging__LogLevel__Default"] = "Warning",
                }));
            }
            using var api = new HttpClient { BaseAddress = replicas[0].BaseUri };
            var cpuBefore = MachineCpu();
            var started = Stopwatch.StartNew();
            using var sweep = await api.PostAsync("/v1/sweeps", null);
            sweep.EnsureSuccessStatusCode();
            while (true)
            {
                var body = await api.GetFromJsonAsync<JsonElement>(sweep.Headers.Location);
                var status = body.GetProperty("status").GetString();
                if (status == "completed")
                    break;
                if (status == "failed" || started.Elapsed > TimeSpan.FromMinutes(10))
                    throw new InvalidOperationException($"sweep {status}: {body}");
                await Task.Delay(100);
            }
            var seconds = started.Elapsed.TotalSeconds;
            var cpuAfter = MachineCpu();
            var busy = 1 - (double)(cpuAfter.Idle - cpuBefore.Idle) / (cpuAfter.Total - cpuBefore.Total);

            var verdicts = await VerdictsAsync(store);
            var unhealthy = catalog.Count(t => !verdicts.Contains($"{t.Repository}@{t.Digest}=healthy"));
            if (unhealthy > 0)
                throw new InvalidOperationException($"{unhealthy} of {catalog.Count} indexes without a healthy verdict");
            reference ??= verdicts;
            if (!reference.SetEquals(verdicts))
                throw new InvalidOperationException($"{count} replicas: verdicts differ from one replica's");
            var gauges = new List<string>();
            var walked = 0.0;
            foreach (var replica in replicas)
            {
                using var http = new HttpClient { BaseAddress = replica.BaseUri };
                var metrics = await http.GetStringAsync("/metrics");
                gauges.Add($"broken {Metric(metrics, "registry_integrity_broken_manifests")}, indeterminate {Metric(metrics, "registry_integrity_indeterminate_manifests")}");
                walked += Metric(metrics, "registry_integrity_sweep_manifests_checked_total");
            }
            if (gauges.Distinct().Count() != 1)
                throw new InvalidOperationException($"the replicas' gauges differ: {string.Join(" | ", gauges)}");
            results.Add((count, round, seconds, manifests / seconds, $"{gauges[0]} on all {count}; manifest trees walked by sweeps, all replicas: {walked}; machine CPU busy {busy:P0} ({Environment.ProcessorCount} cores)"));
            Log($"{count} replica(s), round {round}: {manifests} manifests in {seconds:F2} s = {manifests / seconds:F0} manifests/s; {results[^1].Gauges}");

            foreach (var replica in replicas)
                await replica.DisposeAsync();
            replicas.Clear();
        }
    }

    Console.WriteLine();
    Console.WriteLine($"catalog: {repositories} repositories x {tags} tags of 3-image OCI indexes = {catalog.Count} indexes, {manifests} manifests; PostgreSQL store; no request budget");
    var one = Median(results.Where(r => r.Replicas == 1).Select(r => r.PerSecond));
    foreach (var group in results.GroupBy(r => r.Replicas))
    {
        var median = Median(group.Select(r => r.PerSecond));
        Console.WriteLine($"{group.Key} replica(s): median {median:F0} manifests/s (rounds {string.Join(", ", group.Select(r => r.PerSecond.ToString("F0", CultureInfo.InvariantCulture)))}), ratio to 1 replica {median / one:F2}");
    }
    Console.WriteLine("verdicts identical to one replica's for every replica count; count gauges identical on every replica");
    return 0;
}
finally
{
    foreach (var replica in replicas)
        await replica.DisposeAsync();
    if (stack is not null)
        await stack.DisposeAsync();
}

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

static void Log(string message) => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {message}");

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static double Metric(string exposition, string name) =>
    exposition.Split('\n')
        .Where(line => line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is ' ' or '{')
        .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

// Jiffies of all CPUs from /proc/stat: (total, idle + iowait).
static (long Total, long Idle) MachineCpu()
{
    var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
    return (fields.Sum(), fields[3] + fields[4]);
}

static async Task ExecuteAsync(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    await command.ExecuteNonQueryAsync();
}

static async Task<HashSet<string>> VerdictsAsync(string connectionString)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT repository, digest, result FROM manifests WHERE deleted_ms IS NULL AND result IS NOT NULL", connection);
    await using var reader = await command.ExecuteReaderAsync();
    var verdicts = new HashSet<string>(StringComparer.Ordinal);
    while (await reader.ReadAsync())
        verdicts.Add($"{reader.GetString(0)}@{reader.GetString(1)}={reader.GetString(2)}");
    return verdicts;
}
