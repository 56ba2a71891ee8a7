using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using RegistryIntegrity.TestSupport;
using Xunit.Abstractions;

namespace RegistryIntegrity.EndToEnd.Tests.ModelBased;

/// <summary>
/// The proof of the verdict rules: seeded random histories of pushes (images, indexes, nested indexes,
/// attestations), deletes, re-pushes, on-disk removals, garbage collections with and without
/// <c>--delete-untagged</c>, registry restarts and outages, with sweeps started at random points, against
/// the real registry 2.8.2, Listener, RabbitMQ and Verifier. After each sweep the product's verdict for
/// every manifest (and its dangling tags) must equal what <see cref="RegistryOracle"/> pulls; while the
/// registry is down no broken manifest may leave <c>/v1/broken</c>. The seeds are split over two classes
/// so that two histories (each with its own registry, broker and product) run at once.
/// </summary>
public abstract class Random_histories_against_the_real_registry(ITestOutputHelper output)
{
    /// <summary>Operations per seed; RIT_MODEL_OPERATIONS overrides it for a longer soak (benchmarks/README.md).</summary>
    private static readonly int Operations = int.TryParse(Environment.GetEnvironmentVariable("RIT_MODEL_OPERATIONS"), out var n) ? n : 300;

    protected async Task RunSeedAsync(int seed)
    {
        var product = new RunningProduct();
        await product.InitializeAsync();
        try
        {
            var history = new History(product, new Random(seed), output);
            var report = await history.RunAsync(Operations);
            output.WriteLine($"seed {seed}: {report}");
            Assert.True(report.Checks >= 3, "too few quiescent points to prove anything");
            Assert.True(report.VerdictsCompared >= 50, "too few verdicts compared");
            Assert.True(report.BrokenSeen > 0, "the history never broke anything: it proves nothing about broken verdicts");
            Assert.True(report.Mismatches.Count == 0, string.Join("\n", report.Mismatches.Take(20)) + $"\n--- verifier ---\n{product.Verifier.Output}");
            Assert.True(report.OutageFlips.Count == 0, string.Join("\n", report.OutageFlips.Take(20)));
        }
        finally
        {
            await product.DisposeAsync();
        }
    }

    public sealed record Report(int Operations, Dictionary<string, int> ByKind, int Checks, int VerdictsCompared, int BrokenSeen, List<string> Mismatches, int Outages, List<string> OutageFlips, TimeSpan Took)
    {
        public override string ToString() =>
            $"{Operations} operations ({string.Join(", ", ByKind.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}), {Checks} quiescent checks, " +
            $"{VerdictsCompared} verdicts compared ({BrokenSeen} broken), {Mismatches.Count} mismatches, {Outages} outages, {OutageFlips.Count} broken-to-not-broken flips while down, {Took.TotalSeconds:F0} s";
    }

    private sealed class History(RunningProduct product, Random random, ITestOutputHelper output)
    {
        private readonly RegistryPusher _registry = product.Registry();
        private readonly RegistryOracle _oracle = new(product.Stack.RegistryUri);
        private readonly List<(string Repository, string Digest, string MediaType, bool Index, long Size)> _manifests = [];
        private readonly List<(string Repository, string Digest)> _blobs = [];
        private readonly List<(string Repository, string Digest, string MediaType, byte[] Body)> _deleted = [];
        private readonly Dictionary<string, int> _byKind = [];
        private readonly List<string> _mismatches = [];
        private readonly List<string> _flips = [];
        private readonly string[] _repositories = ["model/app", "model/base", "model/tools"];
        private int _checks, _compared, _brokenSeen, _outages, _tagCounter, _notJudged;

        private string Storage => Path.Combine(product.Stack.StackDir, "registry", "data", "docker", "registry", "v2");

        public async Task<Report> RunAsync(int operations)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 1; i <= operations; i++)
            {
                var kind = await StepAsync();
                _byKind[kind] = _byKind.GetValueOrDefault(kind) + 1;
                if (i % (operations / 4) == 0 || i == operations)
                    await CheckAsync();
            }
            return new Report(operations, _byKind, _checks, _compared, _brokenSeen, _mismatches, _outages, _flips, clock.Elapsed);
        }

        private string Repository() => _repositories[random.Next(_repositories.Length)];

        private string? NewTag() => random.Next(3) == 0 ? null : $"t{++_tagCounter}";

        private async Task<string> StepAsync()
        {
            var roll = random.Next(100);
            try
            {
                switch (roll)
                {
                    case < 22:
                        var image = await _registry.PushImageAsync(Repository(), NewTag(), layers: random.Next(1, 3), layerSize: 256);
                        Remember(image);
                        return "push-image";
                    case < 36:
                        var index = await _registry.PushIndexAsync(Repository(), NewTag(), random.Next(2) == 0 ? ["linux/amd64"] : ["linux/amd64", "linux/arm64"], withAttestation: random.Next(2) == 0);
                        foreach (var child in index.Children)
                            Remember(child);
                        _manifests.Add((index.Repository, index.Digest, MediaTypes.OciIndex, true, index.Size));
                        return "push-index";
                    case < 41:
                        return await PushNestedIndexAsync() ? "push-nested-index" : "skipped";
                    case < 45:
                        return await RetagAsync() ? "retag" : "skipped";
                    case < 58:
                        return await DeleteManifestAsync() ? "delete-manifest" : "skipped";
                    case < 62:
                        if (_blobs.Count == 0)
                            return "skipped";
                        var blob = Pick(_blobs);
                        await _registry.DeleteBlobAsync(blob.Repository, blob.Digest);
                        return "delete-blob";
                    case < 68:
                        return await RePushAsync() ? "re-push-child" : "skipped";
                    case < 72:
                        return RemoveTagDirectory() ? "rm-tag-dir" : "skipped";
                    case < 76:
                        return RemoveBlobData() ? "rm-blob-data" : "skipped";
                    case < 77:
                        if (_manifests.Count == 0)
                            return "skipped"; // 2.8's GC fails on a storage without repositories
                        return await GarbageCollectAsync(deleteUntagged: random.Next(2) == 0) ? "garbage-collect" : "gc-refused";
                    case < 78:
                        await product.Stack.StopAsync(StackServices.Registry);
                        await product.Stack.StartAsync(StackServices.Registry);
                        return "registry-restart";
                    case < 79:
                        await OutageAsync();
                        return "outage";
                    default:
                        if (random.Next(4) == 0)
                        {
                            using var _ = await product.VerifierApi.PostAsync("/v1/sweeps", null);
                            return "sweep";
                        }
                        var plain = await _registry.PushImageAsync(Repository(), NewTag(), layers: 1, layerSize: 128);
                        Remember(plain);
                        return "push-image";
                }
            }
            catch (HttpRequestException e)
            {
                // The registry refused (a manifest whose blobs are gone, a digest already deleted): a real user's failed operation.
                output.WriteLine($"refused: {e.Message}");
                return "refused";
            }
        }

        private void Remember(PushedImage image)
        {
            _manifests.Add((image.Repository, image.Digest, image.MediaType, false, 0));
            _blobs.Add((image.Repository, image.ConfigDigest));
            _blobs.AddRange(image.LayerDigests.Select(l => (image.Repository, l)));
        }

        private T? Pick<T>(List<T> items) => items.Count == 0 ? default : items[random.Next(items.Count)];

        private async Task<bool> PushNestedIndexAsync()
        {
            var inner = _manifests.Where(m => m.Index && m.Size > 0).ToList();
            if (inner.Count == 0)
                return false;
            var child = inner[random.Next(inner.Count)];
            var body = System.Text.Encoding.UTF8.GetBytes(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = MediaTypes.OciIndex,
                ["manifests"] = new JsonArray(new JsonObject { ["mediaType"] = MediaTypes.OciIndex, ["digest"] = child.Digest, ["size"] = child.Size }),
                ["annotations"] = new JsonObject { ["n"] = Guid.NewGuid().ToString() },
            }.ToJsonString());
            var tag = $"nested{++_tagCounter}";
            var digest = await _registry.PushManifestAsync(child.Repository, tag, MediaTypes.OciIndex, body);
            _manifests.Add((child.Repository, digest, MediaTypes.OciIndex, true, body.Length));
            return true;
        }

        private async Task<bool> RetagAsync()
        {
            var manifest = Pick(_manifests);
            if (manifest == default)
                return false;
            await _registry.TagAsync(manifest.Repository, manifest.Digest, manifest.MediaType, $"r{++_tagCounter}");
            return true;
        }

        private async Task<bool> DeleteManifestAsync()
        {
            var manifest = Pick(_manifests);
            if (manifest == default)
                return false;
            var body = await _registry.GetManifestBytesAsync(manifest.Repository, manifest.Digest, manifest.MediaType);
            await _registry.DeleteManifestAsync(manifest.Repository, manifest.Digest);
            _deleted.Add((manifest.Repository, manifest.Digest, manifest.MediaType, body));
            return true;
        }

        private async Task<bool> RePushAsync()
        {
            var deleted = Pick(_deleted);
            if (deleted == default)
                return false;
            _deleted.Remove(deleted);
            await _registry.PushManifestAsync(deleted.Repository, deleted.Digest, deleted.MediaType, deleted.Body);
            return true;
        }

        private bool RemoveTagDirectory()
        {
            var tags = _repositories.Select(r => Path.Combine(Storage, "repositories", r, "_manifests", "tags"))
                .Where(Directory.Exists).SelectMany(Directory.GetDirectories).ToList();
            if (tags.Count == 0)
                return false;
            Directory.Delete(tags[random.Next(tags.Count)], recursive: true);
            return true;
        }

        /// <summary>A layer's or a manifest's data file (a manifest is a blob too: its tag then dangles).</summary>
        private bool RemoveBlobData()
        {
            if (_manifests.Count == 0 || _blobs.Count == 0)
                return false;
            var digest = random.Next(3) == 0 ? Pick(_manifests).Digest : Pick(_blobs).Digest;
            var data = Path.Combine(Storage, "blobs", "sha256", digest[7..9], digest[7..], "data");
            if (!File.Exists(data))
                return false;
            File.Delete(data);
            return true;
        }

        /// <returns>False when the collector refused before deleting anything (2.8's mark phase fails, e.g. on a repository whose tags are all gone).</returns>
        private async Task<bool> GarbageCollectAsync(bool deleteUntagged)
        {
            await product.Stack.StopAsync(StackServices.Registry);
            try
            {
                await product.Stack.RunRegistryGarbageCollectAsync(deleteUntagged);
                return true;
            }
            catch (InvalidOperationException e) when (e.Message.Contains("failed to mark", StringComparison.Ordinal))
            {
                output.WriteLine($"gc refused: {e.Message.Split('\n').FirstOrDefault(l => l.Contains("failed to", StringComparison.Ordinal))}");
                return false;
            }
            finally
            {
                await product.Stack.StartAsync(StackServices.Registry);
            }
        }

        /// <summary>A sweep starts, the registry goes down under it for a few seconds: what was broken stays broken.</summary>
        private async Task OutageAsync()
        {
            _outages++;
            var before = await BrokenAsync();
            using (await product.VerifierApi.PostAsync("/v1/sweeps", null))
            {
            }
            await Task.Delay(random.Next(0, 300));
            await product.Stack.StopAsync(StackServices.Registry);
            for (var poll = 0; poll < 6; poll++)
            {
                await Task.Delay(250);
                foreach (var gone in before.Except(await BrokenAsync()))
                {
                    if (await WhyNotBrokenAsync(gone) is { } flip)
                        _flips.Add($"{gone} left /v1/broken while the registry was down: {flip}");
                    before.Remove(gone);
                }
            }
            await product.Stack.StartAsync(StackServices.Registry);
        }

        /// <summary>
        /// Null when the manifest left /v1/broken for a reason the registry gave: an event still in flight when the
        /// registry stopped (a delete, a healing re-push) or a walk that reached it just before. Otherwise what the
        /// product now says: an outage answer masked a proven break.
        /// </summary>
        private async Task<string?> WhyNotBrokenAsync(string entry)
        {
            var (repository, digest) = (entry[..entry.IndexOf('@')], entry[(entry.IndexOf('@') + 1)..]);
            using var response = await product.VerifierApi.GetAsync($"/v1/manifests?repository={repository}&digest={digest}");
            if (!response.IsSuccessStatusCode)
                return null; // a dangling tag's entry: only a complete tag listing (the registry answering) removes it
            var manifest = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("manifest");
            var deleted = manifest.GetProperty("deletedAt").ValueKind != JsonValueKind.Null;
            var lastAttempt = manifest.TryGetProperty("lastAttempt", out var attempt) && attempt.ValueKind == JsonValueKind.Object
                ? attempt.GetProperty("result").GetString()
                : null;
            return deleted || (manifest.GetProperty("result").GetString() == "healthy" && lastAttempt == "healthy") ? null : manifest.ToString();
        }

        private async Task<HashSet<string>> BrokenAsync()
        {
            var broken = await product.VerifierApi.GetFromJsonAsync<JsonElement>("/v1/broken");
            return broken.EnumerateArray().Select(b => $"{b.GetProperty("repository").GetString()}@{b.GetProperty("digest").GetString()}").ToHashSet();
        }

        private async Task CheckAsync()
        {
            _checks++;
            // A sweep begun now (a running one, started before the last operations, is waited out first).
            // Right after an outage the registry client's circuit breaker may still be open: a sweep started then fails
            // ("catalog inaccessible: circuit open"), as it must. The check needs a complete one: it waits the break out.
            JsonElement progress = default;
            for (var attempt = 1; attempt <= 3; attempt++)
            {
                var sweep = await product.StartFreshSweepAsync(TimeSpan.FromSeconds(120));
                progress = await product.WaitForSweepAsync(sweep, TimeSpan.FromSeconds(120));
                if (progress.GetProperty("status").GetString() == "completed")
                    break;
                output.WriteLine($"check {_checks}: sweep attempt {attempt} failed: {progress.GetProperty("progress").GetProperty("catalogError")}");
                await Task.Delay(TimeSpan.FromSeconds(6));
            }
            Assert.Equal("completed", progress.GetProperty("status").GetString());

            _oracle.Forget();
            var truth = new Dictionary<(string, string), Truth>();
            foreach (var (repository, digest, _, _, _) in _manifests.Distinct())
                truth[(repository, digest)] = await _oracle.PullAsync(repository, digest);
            var dangling = new HashSet<string>();
            foreach (var repository in _repositories)
                dangling.UnionWith((await _oracle.DanglingTagsAsync(repository)).Select(t => $"{repository}:{t}"));

            // Events sent before the sweep may still be in flight: the product has a few seconds to settle.
            List<string> mismatches = [];
            for (var attempt = 0; attempt < 20; attempt++)
            {
                mismatches = await CompareAsync(truth, dangling);
                if (mismatches.Count == 0)
                    break;
                await Task.Delay(500);
            }
            _compared += truth.Count - _notJudged;
            _brokenSeen += truth.Values.Count(t => t.Result == "broken") + dangling.Count;
            _mismatches.AddRange(mismatches.Select(m => $"check {_checks}: {m}"));
            output.WriteLine($"check {_checks}: {truth.Count} manifests, {truth.Values.Count(t => t.Result == "broken")} broken, {truth.Values.Count(t => t.RootGone)} gone, {dangling.Count} dangling tags, {_notJudged} never judged (push event lost), {mismatches.Count} mismatches");
        }

        private async Task<List<string>> CompareAsync(Dictionary<(string, string), Truth> truth, HashSet<string> dangling)
        {
            var mismatches = new List<string>();
            var notJudged = new List<string>();
            foreach (var ((repository, digest), expected) in truth)
            {
                var response = await product.VerifierApi.GetAsync($"/v1/manifests?repository={repository}&digest={digest}");
                var manifest = response.StatusCode == HttpStatusCode.NotFound ? (JsonElement?)null
                    : (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("manifest");
                var deleted = manifest?.GetProperty("deletedAt").ValueKind is JsonValueKind.String;
                if (!deleted && manifest?.GetProperty("result").ValueKind is not JsonValueKind.String)
                {
                    // Never judged as a root: an untagged manifest whose push event the registry lost (it drops its queue
                    // when it stops) is invisible to an HTTP sweep, which sees only tags and what it knows. Counted apart.
                    if (!expected.RootGone)
                        notJudged.Add($"{repository}@{digest}");
                    continue;
                }
                var result = deleted ? "gone" : manifest!.Value.GetProperty("result").GetString();
                if (result != expected.Result)
                {
                    mismatches.Add($"{repository}@{digest}: truth {expected.Result} (missing {string.Join(",", expected.Missing)}), product {result}: {manifest?.ToString()}");
                    continue;
                }
                if (result == "broken")
                {
                    var missing = manifest!.Value.GetProperty("missing").EnumerateArray().Select(m => m.GetProperty("digest").GetString()!).ToHashSet();
                    if (!missing.SetEquals(expected.Missing))
                        mismatches.Add($"{repository}@{digest}: truth missing {string.Join(",", expected.Missing.Order())}, product missing {string.Join(",", missing.Order())}");
                }
            }
            var broken = await product.VerifierApi.GetFromJsonAsync<JsonElement>("/v1/broken");
            var productDangling = broken.EnumerateArray().Where(b => b.TryGetProperty("tag", out _))
                .Select(b => $"{b.GetProperty("repository").GetString()}:{b.GetProperty("tag").GetString()}").ToHashSet();
            if (!productDangling.SetEquals(dangling))
                mismatches.Add($"dangling tags: truth [{string.Join(", ", dangling.Order())}], product [{string.Join(", ", productDangling.Order())}]");
            _notJudged = notJudged.Count;
            return mismatches;
        }
    }
}

/// <summary>
/// Seeds 4 and 5 in CI (they found the re-push-after-delete wrong verdict; more seeds took the suite past its time
/// budget); RIT_MODEL_SEEDS="1,2,3,..." runs others for a soak. The seeds alternate between the two classes, which run at once.
/// </summary>
internal static class ModelSeeds
{
    private static readonly int[] Seeds = (Environment.GetEnvironmentVariable("RIT_MODEL_SEEDS") ?? "4,5")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();

    public static IEnumerable<object[]> Part(int part) => Seeds.Where((_, i) => i % 2 == part).Select(seed => new object[] { seed });
}

public sealed class Random_histories_first_half(ITestOutputHelper output) : Random_histories_against_the_real_registry(output)
{
    public static IEnumerable<object[]> Seeds => ModelSeeds.Part(0);

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Every_verdict_after_every_sweep_matches_a_full_pull_and_none_turns_green_in_an_outage(int seed) => RunSeedAsync(seed);
}

public sealed class Random_histories_second_half(ITestOutputHelper output) : Random_histories_against_the_real_registry(output)
{
    public static IEnumerable<object[]> Seeds => ModelSeeds.Part(1);

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Every_verdict_after_every_sweep_matches_a_full_pull_and_none_turns_green_in_an_outage(int seed) => RunSeedAsync(seed);
}
