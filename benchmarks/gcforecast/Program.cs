using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using RegistryIntegrity.Benchmarks.GcForecast;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Forecast;
using RegistryIntegrity.Verifier.Store.Dapper;

// The GC forecast from the verdict store at scale: a real PostgreSQL (scripts/stack.sh, 127.0.0.1) is filled
// with N manifests shaped like multi-platform pushes (a tagged index, two platform images and an attestation
// per image set, each image with a config and two layers), then the forecast reads the graph and simulates
// plain and --delete-untagged GC on 2.8.
//   dotnet run -c Release --project benchmarks/gcforecast -- [manifests, default 1000000]
// The forecast from the registry's storage instead (StorageBenchmark.cs; a generated tree in a temp dir):
//   dotnet run -c Release --project benchmarks/gcforecast -- storage [manifests, default 100000]
if (args.Length > 0 && args[0] == "storage")
{
    await StorageBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000);
    return;
}
var manifests = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
var sets = manifests / 4;
await using var stack = await LocalStack.StartAsync(StackServices.Postgres);
var dataSource = NpgsqlDataSource.Create(stack.PostgresConnectionString);
var connections = new NpgsqlConnectionFactory(dataSource);
await new DapperVerdictStore(connections, TimeProvider.System).MigrateAsync(CancellationToken.None);

var clock = Stopwatch.StartNew();
var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
await using (var connection = await dataSource.OpenConnectionAsync())
{
    await using (var copy = await connection.BeginBinaryImportAsync("COPY manifests (repository, digest, media_type, first_seen_ms, seen_ms, result, checked_ms, attempt_result, attempt_ms) FROM STDIN (FORMAT BINARY)"))
    {
        for (var s = 0; s < sets; s++)
        {
            for (var m = 0; m < 4; m++)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(Repository(s), NpgsqlDbType.Text);
                await copy.WriteAsync(Digest(s, m), NpgsqlDbType.Text);
                await copy.WriteAsync(m == 0 ? "application/vnd.oci.image.index.v1+json" : "application/vnd.oci.image.manifest.v1+json", NpgsqlDbType.Text);
                await copy.WriteAsync(now, NpgsqlDbType.Bigint);
                await copy.WriteAsync(now, NpgsqlDbType.Bigint);
                await copy.WriteAsync("healthy", NpgsqlDbType.Text);
                await copy.WriteAsync(now, NpgsqlDbType.Bigint);
                await copy.WriteAsync("healthy", NpgsqlDbType.Text);
                await copy.WriteAsync(now, NpgsqlDbType.Bigint);
            }
        }
        await copy.CompleteAsync();
    }
    await using (var copy = await connection.BeginBinaryImportAsync("COPY manifest_references (repository, parent_digest, child_digest, kind) FROM STDIN (FORMAT BINARY)"))
    {
        for (var s = 0; s < sets; s++)
        {
            for (var m = 1; m < 4; m++)
            {
                await Edge(copy, s, Digest(s, 0), Digest(s, m), "ChildManifest");
                await Edge(copy, s, Digest(s, m), Digest(s, 10 + m), "Config");
                await Edge(copy, s, Digest(s, m), Digest(s, 20 + m), "Layer");
                // Every image shares its base layer with the other images of its repository.
                await Edge(copy, s, Digest(s, m), "sha256:" + Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(Repository(s))).PadRight(64, '0')[..64], "Layer");
            }
        }
        await copy.CompleteAsync();
    }
    await using (var copy = await connection.BeginBinaryImportAsync("COPY tags (repository, tag, digest, updated_ms) FROM STDIN (FORMAT BINARY)"))
    {
        for (var s = 0; s < sets; s++)
        {
            await copy.StartRowAsync();
            await copy.WriteAsync(Repository(s), NpgsqlDbType.Text);
            await copy.WriteAsync($"v{s}", NpgsqlDbType.Text);
            await copy.WriteAsync(Digest(s, 0), NpgsqlDbType.Text);
            await copy.WriteAsync(now, NpgsqlDbType.Bigint);
        }
        await copy.CompleteAsync();
    }
    await using var command = new NpgsqlCommand("INSERT INTO sweeps (id, trigger_name, started_ms, enumerated_ms, completed_ms, repositories_total, repositories_done) VALUES ('00000000-0000-0000-0000-00000000be0c', 'api', @now, @now, @now, 1, 1); ANALYZE", connection);
    command.Parameters.AddWithValue("now", now);
    await command.ExecuteNonQueryAsync();
}
Console.WriteLine($"loaded {sets * 4} manifests, {sets * 12} references, {sets} tags in {clock.Elapsed.TotalSeconds:F1} s");

var source = new StoreGraphSource(connections, new DapperSweepStore(connections), new VerifierStart(DateTimeOffset.FromUnixTimeMilliseconds(now - 1000)));
for (var round = 1; round <= 2; round++)
{
    GC.Collect();
    var before = GC.GetTotalAllocatedBytes(precise: true);
    clock.Restart();
    var (graph, completeness) = await source.ReadAsync(CancellationToken.None);
    var read = clock.Elapsed;
    var plain = GcForecaster.Forecast(graph, completeness, GcMode.Plain, GcVersion.V2_8, "store", DateTimeOffset.UtcNow);
    var plainAt = clock.Elapsed;
    var untagged = GcForecaster.Forecast(graph, completeness, GcMode.DeleteUntagged, GcVersion.V2_8, "store", DateTimeOffset.UtcNow);
    var total = clock.Elapsed;
    var heap = GC.GetTotalMemory(forceFullCollection: false);
    Console.WriteLine(
        $"round {round}: read {read.TotalSeconds:F1} s, plain forecast {(plainAt - read).TotalSeconds:F1} s ({plain.Result}), " +
        $"-m forecast {(total - plainAt).TotalSeconds:F1} s ({untagged.Result}, {untagged.Summary.TaggedImagesBroken} tagged images broken, {untagged.DeletedBlobs.Count} blobs); " +
        $"allocated {(GC.GetTotalAllocatedBytes(precise: true) - before) / 1048576.0:F0} MiB, heap {heap / 1048576.0:F0} MiB, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
    GC.KeepAlive(graph);
}

static string Repository(int set) => $"team{set % 1000}/app";

static string Digest(int set, int member) => $"sha256:{set:x32}{member:x32}";

static async Task Edge(NpgsqlBinaryImporter copy, int set, string parent, string child, string kind)
{
    await copy.StartRowAsync();
    await copy.WriteAsync(Repository(set), NpgsqlDbType.Text);
    await copy.WriteAsync(parent, NpgsqlDbType.Text);
    await copy.WriteAsync(child, NpgsqlDbType.Text);
    await copy.WriteAsync(kind, NpgsqlDbType.Text);
}
