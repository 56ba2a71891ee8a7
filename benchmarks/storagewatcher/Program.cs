using System.Diagnostics;
using System.Text.Json;
using RabbitMQ.Client;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.TestSupport;

// The storage watcher under a GC-sized flood: a registry storage tree of ~10 000 objects (revisions, layer links,
// blobs) laid out as distribution's filesystem driver does, all removed as the GC removes them (folder by folder,
// as fast as this process can). Counts the messages the watcher sends (coalescing), checks every removed object
// arrived (nothing missed), and reads the watcher's memory.
//   dotnet run -c Release --project benchmarks/storagewatcher -- [images=1250]
// With `latency [steady=20] [restarts=5]`: removal -> /v1/broken for a layer's data file, through the whole product (LayerDataRemovalLatency.cs).
if (args.Length > 0 && args[0] == "latency")
{
    int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    return await LayerDataRemovalLatency.RunAsync(steady: Arg(1, 20), restarts: Arg(2, 5));
}
var images = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1250;
await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq);
var root = Directory.CreateTempSubdirectory("rit-watch-bench-").FullName;
string Full(string relative) => RegistryStorageLayout.ToFullPath(root, relative);
string Digest() => "sha256:" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

// 8 objects per image: its revision, 3 layer links (config, 2 layers), 4 blobs (manifest, config, 2 layers).
var expected = new HashSet<string>(StringComparer.Ordinal);
var revisions = new List<string>();
var layers = new List<string>();
var blobs = new List<string>();
for (var i = 0; i < images; i++)
{
    var repository = $"bench/repo{i % 20}";
    var manifest = Digest();
    var parts = new[] { Digest(), Digest(), Digest() };
    revisions.Add(RegistryStorageLayout.RevisionDirectoryPath(repository, manifest));
    expected.Add($"{RemovedObjectKinds.Revision} {repository} {manifest}");
    foreach (var part in parts)
    {
        layers.Add(RegistryStorageLayout.LayerDirectoryPath(repository, part));
        expected.Add($"{RemovedObjectKinds.LayerLink} {repository} {part}");
    }
    foreach (var blob in parts.Append(manifest))
    {
        blobs.Add(RegistryStorageLayout.BlobDirectoryPath(blob));
        expected.Add($"{RemovedObjectKinds.Blob}  {blob}");
    }
}
foreach (var (directory, file) in revisions.Concat(layers).Select(d => (d, "link")).Concat(blobs.Select(d => (d, "data"))))
{
    Directory.CreateDirectory(Full(directory));
    await File.WriteAllTextAsync(Path.Combine(Full(directory), file), "x");
}
Console.WriteLine($"tree: {images} images, {expected.Count} objects, {Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Count()} directories");

// The events queue as the Listener declares it, read here instead of by a Verifier.
var factory = new ConnectionFactory { Uri = stack.RabbitMqUri };
await using var connection = await factory.CreateConnectionAsync();
await using var channel = await connection.CreateChannelAsync();
await channel.ExchangeDeclareAsync(QueueNames.RegistryEvents, ExchangeType.Fanout, durable: true, autoDelete: false);
await channel.QueueDeclareAsync(QueueNames.RegistryEvents, durable: true, exclusive: false, autoDelete: false, QueueNames.EventsQueueArguments(QueueNames.DefaultEventsQueueMaxLength));
await channel.QueueBindAsync(QueueNames.RegistryEvents, QueueNames.RegistryEvents, "");

await using var watcher = await ServiceProcess.StartAsync("Listener", new Dictionary<string, string>
{
    ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
    ["StorageWatcher__Root"] = root,
}, arguments: ["watch-storage"]);
using var http = new HttpClient { BaseAddress = watcher.BaseUri };
for (var i = 0; i < 300 && !(await http.GetStringAsync("/v1/status")).Contains("\"watching\"", StringComparison.Ordinal); i++)
    await Task.Delay(100);
Console.WriteLine($"watcher: {await http.GetStringAsync("/v1/status")}");
var before = ReadMemory(watcher.ProcessId);

// As the GC: manifests (revision folders) first, then layer links, then blobs, each folder removed whole.
var clock = Stopwatch.StartNew();
foreach (var directory in revisions.Concat(layers).Concat(blobs))
    Directory.Delete(Full(directory), recursive: true);
var removedIn = clock.Elapsed;

var received = new HashSet<string>(StringComparer.Ordinal);
var messages = 0;
var lastArrival = TimeSpan.Zero;
var quietSince = Stopwatch.StartNew();
while (quietSince.Elapsed < TimeSpan.FromSeconds(5) && clock.Elapsed < TimeSpan.FromMinutes(5))
{
    var delivery = await channel.BasicGetAsync(QueueNames.RegistryEvents, autoAck: true);
    if (delivery is null)
    {
        await Task.Delay(50);
        continue;
    }
    using var envelope = JsonDocument.Parse(delivery.Body);
    if (!envelope.RootElement.TryGetProperty("message", out var message) || !message.TryGetProperty("removals", out var removals))
        continue;
    messages++;
    lastArrival = clock.Elapsed;
    quietSince.Restart();
    foreach (var removal in removals.EnumerateArray())
        received.Add($"{removal.GetProperty("kind").GetString()} {removal.GetProperty("repository").GetString()} {removal.GetProperty("digest").GetString()}");
}
var after = ReadMemory(watcher.ProcessId);
var metrics = await http.GetStringAsync("/metrics");

Console.WriteLine($"removed {expected.Count} objects in {removedIn.TotalMilliseconds:F0} ms; last message {lastArrival.TotalMilliseconds:F0} ms after the first removal");
Console.WriteLine($"messages: {messages} (one per window; {(double)expected.Count / Math.Max(1, messages):F0} objects per message)");
Console.WriteLine($"received: {received.Count}, missed: {expected.Except(received).Count()}, unexpected: {received.Except(expected).Count()}");
Console.WriteLine($"watcher memory: before {before}, after {after}");
foreach (var line in metrics.Split('\n').Where(l => l.StartsWith("registry_integrity_storage_watcher_", StringComparison.Ordinal)))
    Console.WriteLine($"  {line}");
Directory.Delete(root, recursive: true);
return expected.SetEquals(received) ? 0 : 1;

static string ReadMemory(int pid)
{
    var status = File.ReadAllLines($"/proc/{pid}/status");
    string Field(string name) => status.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "?";
    return $"RSS {Field("VmRSS")}, peak {Field("VmHWM")}";
}
