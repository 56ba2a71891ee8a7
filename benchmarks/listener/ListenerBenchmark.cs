using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using RabbitMQ.Client;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Benchmarks.Listener;

/// <summary>
/// The Listener (Release build, its own process) against local RabbitMQ, and in the same run the
/// baseline of RabbitMQ.Client publishing the same messages with confirms. Everything on 127.0.0.1;
/// every loop is bounded in count and time; the stack and the Listener are stopped at the end.
/// </summary>
public static class ListenerBenchmark
{
    private const string Token = "benchmark-token-0123456789";
    private const string EventsQueue = "registry-integrity-events";
    private const string BaselineExchange = "benchmark-baseline";
    private const string BaselineQueue = "benchmark-baseline";
    private const string ContentType = "application/vnd.docker.distribution.events.v1+json";

    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        Console.WriteLine($"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average {LoadAverage()}");
        Console.WriteLine($"{options}");

        await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq);
        await using var listener = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>(options.ListenerEnvironment)
        {
            ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
            ["Listener__BearerTokens__0"] = Token,
        });
        var envelopes = new EnvelopeFactory(Path.Combine(RepositoryRoot.Find(), "tests", "Listener.Tests", "Fixtures", "registry-events", "manifest-push-by-tag.json"));

        using var sequentialHttp = HttpClientFor(listener.BaseUri, connections: 1);
        using var concurrentHttp = HttpClientFor(listener.BaseUri, connections: options.Connections);
        await using var connection = await new ConnectionFactory { Uri = stack.RabbitMqUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        // Warm up both paths (JIT, connections, queue declaration), then copy a real message for the baseline.
        await Measurement.RunAsync("warmup", options.Warmup, options.Connections, options.PhaseLimit, i => PostAsync(concurrentHttp, envelopes.Next()));
        await Measurement.RunAsync("warmup", options.Warmup / 4, 1, options.PhaseLimit, i => PostAsync(sequentialHttp, envelopes.Next()));
        var sample = await channel.BasicGetAsync(EventsQueue, autoAck: true) ?? throw new InvalidOperationException("The Listener sent nothing to the events queue.");
        var body = sample.Body.ToArray();
        var properties = new BasicProperties(sample.BasicProperties);
        await channel.ExchangeDeclareAsync(BaselineExchange, ExchangeType.Fanout, durable: true);
        await channel.QueueDeclareAsync(BaselineQueue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(BaselineQueue, BaselineExchange, "");
        Console.WriteLine($"message: {body.Length} bytes, persistent={properties.Persistent}, envelope {envelopes.Length} bytes");
        await Measurement.RunAsync("warmup", options.Warmup, options.Connections, options.PhaseLimit, _ => PublishAsync(channel, properties, body));
        await PurgeAsync(channel);

        var cpu = CpuMeter.For(listener.ProcessId, stack.StackDir);
        async Task<Measurement> MeasureAsync(string name, int count, int workers, Func<int, Task<bool>> operation)
        {
            var before = cpu.Sample();
            var measurement = await Measurement.RunAsync(name, count, workers, options.PhaseLimit, operation);
            Console.WriteLine($"  {name,-36} {measurement.PerSecond,8:F0}/s  p50 {measurement.P50Ms,6:F2} ms  p99 {measurement.P99Ms,6:F2} ms  max {measurement.MaxMs,7:F2} ms  failed {measurement.Failed}");
            Console.WriteLine($"  {"",-36} CPU ms per event: {CpuMeter.PerOperation(before, cpu.Sample(), measurement.Completed + measurement.Failed)}");
            return measurement;
        }

        var rounds = new List<Measurement[]>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            Console.WriteLine($"round {round} (load average {LoadAverage()}):");
            rounds.Add(
            [
                await MeasureAsync("listener, 1 connection", options.Sequential, 1, _ => PostAsync(sequentialHttp, envelopes.Next())),
                await MeasureAsync("baseline, 1 publish at a time", options.Sequential, 1, _ => PublishAsync(channel, properties, body)),
                await MeasureAsync($"listener, {options.Connections} connections", options.Concurrent, options.Connections, _ => PostAsync(concurrentHttp, envelopes.Next())),
                await MeasureAsync($"baseline, {options.Connections} publishes in flight", options.Concurrent, options.Connections, _ => PublishAsync(channel, properties, body)),
            ]);
            await PurgeAsync(channel);
        }

        var report = Report(options, rounds);
        Console.WriteLine(report);
        var results = Directory.CreateDirectory(Path.Combine(RepositoryRoot.Find(), "benchmarks", "listener", "results"));
        await File.WriteAllTextAsync(Path.Combine(results.FullName, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}.md"), report);
        return rounds.SelectMany(r => r).Any(m => m.Failed > 0) ? 1 : 0;
    }

    private static string Report(BenchmarkOptions options, List<Measurement[]> rounds)
    {
        // The median round by each figure, separately.
        double Median(int phase, Func<Measurement, double> figure) =>
            rounds.Select(r => figure(r[phase])).Order().ElementAt(rounds.Count / 2);

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| measurement (median of {rounds.Count} rounds) | rate | p50 | p99 |");
        text.AppendLine("|---|---|---|---|");
        for (var phase = 0; phase < rounds[0].Length; phase++)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {rounds[0][phase].Name} | {Median(phase, m => m.PerSecond):F0}/s | {Median(phase, m => m.P50Ms):F2} ms | {Median(phase, m => m.P99Ms):F2} ms |");
        }
        var sequentialRatio = Median(0, m => m.PerSecond) / Median(1, m => m.PerSecond);
        var concurrentRatios = rounds.Select(r => r[2].PerSecond / r[3].PerSecond).Order().ToList();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"sequential: listener p99 {Median(0, m => m.P99Ms):F2} ms (target < 5 ms); rate {sequentialRatio:F2} x baseline");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{options.Connections} connections: listener / baseline = {concurrentRatios[concurrentRatios.Count / 2]:F2} (rounds: {string.Join(", ", concurrentRatios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}; target >= 0.8)");
        return text.ToString();
    }

    private static async Task<bool> PostAsync(HttpClient http, byte[] envelope)
    {
        using var content = new ByteArrayContent(envelope);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
        using var response = await http.PostAsync("/v1/events", content);
        return response.StatusCode == HttpStatusCode.OK;
    }

    private static async Task<bool> PublishAsync(IChannel channel, BasicProperties properties, byte[] body)
    {
        await channel.BasicPublishAsync(BaselineExchange, "", mandatory: false, properties, body);
        return true;
    }

    private static async Task PurgeAsync(IChannel channel)
    {
        await channel.QueuePurgeAsync(EventsQueue);
        await channel.QueuePurgeAsync(BaselineQueue);
    }

    private static HttpClient HttpClientFor(Uri baseUri, int connections)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) };
        var http = new HttpClient(handler) { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>The real envelope with a fresh event id for every request, so none is a duplicate.</summary>
    private sealed class EnvelopeFactory(string fixturePath)
    {
        private readonly string _template = File.ReadAllText(fixturePath);
        private readonly string _id = System.Text.Json.JsonDocument.Parse(File.ReadAllText(fixturePath))
            .RootElement.GetProperty("events")[0].GetProperty("id").GetString()!;

        public int Length => Encoding.UTF8.GetByteCount(_template);

        public byte[] Next() => Encoding.UTF8.GetBytes(_template.Replace(_id, Guid.NewGuid().ToString(), StringComparison.Ordinal));
    }
}
