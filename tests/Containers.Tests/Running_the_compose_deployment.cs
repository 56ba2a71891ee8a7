using System.Diagnostics;
using System.Text.Json;
using RegistryIntegrity.TestSupport;
using Xunit.Abstractions;

namespace RegistryIntegrity.Containers.Tests;

public sealed class Running_the_compose_deployment(ComposeDeployment compose, ITestOutputHelper output) : IClassFixture<ComposeDeployment>
{
    [Theory]
    [InlineData("listener")]
    [InlineData("verifier")]
    public async Task Each_service_passes_its_health_check_as_non_root_on_a_read_only_root_filesystem(string service)
    {
        output.WriteLine($"image build: {compose.ImageBuildTime.TotalSeconds:F0} s (0 when scripts/test.sh built them first); compose up to both ready: {compose.FirstReadyTime.TotalSeconds:F0} s");
        var container = compose.Container(service);

        // The image's own HEALTHCHECK: GET /healthz/ready from inside the container.
        var health = await compose.Podman("healthcheck", "run", container);
        Assert.True(health.ExitCode == 0, health.Describe());

        var uid = (await compose.Podman("exec", container, "id", "-u")).EnsureSuccess().StandardOutput.Trim();
        Assert.Equal("1654", uid);

        // The root filesystem as the container sees it: mounted read-only; /tmp is the tmpfs compose gives it.
        var mounts = (await compose.Podman("exec", container, "cat", "/proc/mounts")).EnsureSuccess().StandardOutput;
        var root = mounts.Split('\n').Select(line => line.Split(' ')).Last(fields => fields.Length > 3 && fields[1] == "/");
        Assert.Contains("ro", root[3].Split(','));
        (await compose.Podman("exec", container, "touch", "/tmp/writable")).EnsureSuccess();
    }

    [Fact]
    public async Task The_verifier_image_alone_keeps_its_default_SQLite_store_on_a_volume_under_a_read_only_root()
    {
        var port = LocalStack.GetFreeTcpPorts(1)[0];
        // No broker on purpose: liveness and the store do not wait for one.
        var id = (await compose.Podman("run", "-d", "--read-only", "-v", "/var/lib/registry-integrity", "-p", $"127.0.0.1:{port}:8080",
            "-e", "ConnectionStrings__RabbitMq=amqp://guest:guest@127.0.0.1:1/", compose.VerifierImage)).EnsureSuccess().StandardOutput.Trim();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            var live = false;
            while (!live && DateTime.UtcNow < deadline)
            {
                try
                {
                    using var response = await compose.VerifierApi.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz/live"));
                    live = response.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                }
                if (!live)
                    await Task.Delay(200);
            }
            var logs = await compose.Podman("logs", id);
            Assert.True(live, $"not live within 60 s\n{logs.StandardOutput}{logs.StandardError}");
            // The store is migrated before Kestrel answers; the file lives on the mounted volume.
            var store = await compose.Podman("exec", id, "stat", "-c", "%s %u", "/var/lib/registry-integrity/verdicts.db");
            Assert.True(store.ExitCode == 0, store.Describe());
            Assert.EndsWith(" 1654", store.StandardOutput.Trim(), StringComparison.Ordinal);
        }
        finally
        {
            await compose.Podman("rm", "-f", "-v", id);
        }
    }

    [Theory]
    [InlineData("listener")]
    [InlineData("verifier")]
    public async Task Each_image_carries_the_OCI_source_version_and_revision_labels(string service)
    {
        var image = service == "listener" ? compose.ListenerImage : compose.VerifierImage;
        var labels = (await compose.Podman("image", "inspect", "--format", "{{json .Config.Labels}}", image)).EnsureSuccess().StandardOutput;
        var label = JsonSerializer.Deserialize<Dictionary<string, string>>(labels)!;
        var revision = (await compose.Git("rev-parse", "HEAD")).StandardOutput.Trim();

        Assert.StartsWith("https://", label["org.opencontainers.image.source"], StringComparison.Ordinal);
        Assert.Equal(image[(image.LastIndexOf(':') + 1)..], label["org.opencontainers.image.version"]);
        Assert.Equal(revision, label["org.opencontainers.image.revision"]);
    }

    [Fact]
    public async Task Deleting_a_child_lists_the_index_as_broken_within_2_seconds_and_check_exits_1_naming_it()
    {
        using var registry = compose.Registry();
        var index = await registry.PushIndexAsync("team/multiarch", "v1", ["linux/amd64", "linux/arm64"], withAttestation: true);
        await WaitForResultAsync(index.Repository, index.Digest, "healthy");
        var child = index.Children.First(c => c.Platform == "linux/arm64");

        await registry.DeleteManifestAsync(index.Repository, child.Digest);
        var (listed, listedAfter) = await WaitUntilListedBrokenAsync(index.Digest, "the delete", TimeSpan.FromSeconds(10));
        Assert.InRange(listedAfter, 0, 2000);
        Assert.Equal(child.Digest, listed.GetProperty("missing").EnumerateArray().Single().GetProperty("digest").GetString());

        // The Verifier image's CLI, as a CI step would run it, on the compose network.
        var check = await compose.Podman("run", "--rm", "--read-only", "--network", compose.Network, compose.VerifierImage,
            "check", $"registry:5000/{index.Repository}:v1", "--plain-http");
        output.WriteLine(check.Describe());
        Assert.Equal(1, check.ExitCode);
        Assert.Contains(child.Digest, check.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_collecting_a_tagged_index_in_the_registry_container_lists_it_as_broken_through_the_storage_watcher()
    {
        using var registry = compose.Registry();
        var index = await registry.PushIndexAsync("team/collected", "v1", ["linux/amd64", "linux/arm64"], withAttestation: false);
        await WaitForResultAsync(index.Repository, index.Digest, "healthy");
        var removalsBefore = await WatcherRemovalsAsync();

        // 2.8's --delete-untagged deletes the untagged children of a tagged index; the registry sends no event for it.
        var gc = await compose.Podman("exec", compose.Container("registry"), "registry", "garbage-collect", "--delete-untagged", "/etc/docker/registry/config.yml");
        Assert.True(gc.ExitCode == 0, gc.Describe());
        var (listed, listedAfter) = await WaitUntilListedBrokenAsync(index.Digest, "garbage-collect", TimeSpan.FromSeconds(20));

        // Containers on a loaded CI machine: 5 s here; the 2 s bound is held by tests/EndToEnd.Tests (Watching_the_registry_storage).
        Assert.InRange(listedAfter, 0, 5000);
        Assert.Equal(index.Children.Select(c => c.Digest).Order(), listed.GetProperty("missing").EnumerateArray()
            .Where(m => m.GetProperty("kind").GetString() == "child-manifest").Select(m => m.GetProperty("digest").GetString()!).Order());
        Assert.True(await WatcherRemovalsAsync() > removalsBefore, "the storage watcher reported no removal");
    }

    /// <summary>Polls /v1/broken from now until <paramref name="digest"/> is listed; how long that took, in ms.</summary>
    private async Task<(JsonElement Listed, long After)> WaitUntilListedBrokenAsync(string digest, string what, TimeSpan within)
    {
        var since = Stopwatch.StartNew();
        JsonElement listed;
        do
        {
            listed = (await compose.BrokenAsync()).EnumerateArray().FirstOrDefault(v => v.GetProperty("digest").GetString() == digest);
            if (listed.ValueKind == JsonValueKind.Undefined)
                await Task.Delay(50);
        }
        while (listed.ValueKind == JsonValueKind.Undefined && since.Elapsed < within);
        var after = since.ElapsedMilliseconds;
        output.WriteLine($"{what} ended -> index listed by /v1/broken: {after} ms");
        if (listed.ValueKind == JsonValueKind.Undefined)
            Assert.Fail($"index not in /v1/broken {within.TotalSeconds} s after {what}\n{await compose.LogsAsync()}");
        return (listed, after);
    }

    /// <summary>Removals the storage watcher has sent, from its own /metrics.</summary>
    private async Task<double> WatcherRemovalsAsync()
    {
        var metrics = await compose.VerifierApi.GetStringAsync(new Uri($"http://127.0.0.1:{compose.StorageWatcherPort}/metrics"));
        return metrics.Split('\n').Where(l => l.StartsWith("registry_integrity_storage_watcher_removals_total", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Compose_down_and_up_keeps_every_verdict()
    {
        using var registry = compose.Registry();
        var healthy = await registry.PushIndexAsync("team/kept", "v1", ["linux/amd64"], withAttestation: false);
        var orphaned = await registry.PushIndexAsync("team/kept", "v2", ["linux/amd64", "linux/arm64"], withAttestation: false);
        await WaitForResultAsync(healthy.Repository, healthy.Digest, "healthy");
        await WaitForResultAsync(orphaned.Repository, orphaned.Digest, "healthy");
        await registry.DeleteManifestAsync(orphaned.Repository, orphaned.Children[0].Digest);
        await WaitForResultAsync(orphaned.Repository, orphaned.Digest, "broken");

        string[] digests = [healthy.Digest, .. healthy.Children.Select(c => c.Digest), orphaned.Digest, .. orphaned.Children.Select(c => c.Digest)];
        var before = await VerdictsAsync(healthy.Repository, digests);
        var brokenBefore = await BrokenDigestsAsync();

        await compose.DownAsync();
        Assert.Empty((await compose.Podman("ps", "-q", "--filter", $"label=io.podman.compose.project={compose.Project}")).StandardOutput.Trim());
        await compose.UpAsync();

        Assert.Equal(before, await VerdictsAsync(healthy.Repository, digests));
        Assert.Equal(brokenBefore, await BrokenDigestsAsync());
        Assert.Contains(orphaned.Digest, brokenBefore);
        Assert.StartsWith("broken ", before[Array.IndexOf(digests, orphaned.Digest)], StringComparison.Ordinal);
    }

    private async Task<string[]> VerdictsAsync(string repository, IEnumerable<string> digests)
    {
        var verdicts = new List<string>();
        foreach (var digest in digests)
        {
            var manifest = await compose.ManifestAsync(repository, digest);
            Assert.True(manifest.HasValue, $"{repository}@{digest} has no verdict");
            // What a verdict says and since when; a sweep after the restart may refresh checkedAt.
            var verdict = manifest.Value.GetProperty("manifest");
            verdicts.Add($"{verdict.GetProperty("result")} since {verdict.GetProperty("since")} missing {verdict.GetProperty("missing")} tags {verdict.GetProperty("tags")} deleted {verdict.GetProperty("deletedAt")}");
        }
        return [.. verdicts];
    }

    private async Task<string[]> BrokenDigestsAsync() =>
        [.. (await compose.BrokenAsync()).EnumerateArray().Select(v => v.GetProperty("digest").GetString()!).Order(StringComparer.Ordinal)];

    private async Task WaitForResultAsync(string repository, string digest, string result)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var manifest = await compose.ManifestAsync(repository, digest);
            last = manifest?.ToString() ?? "no verdict";
            if (manifest?.GetProperty("manifest").GetProperty("result").GetString() == result)
                return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"No {result} verdict for {repository}@{digest} within 30 s. Last: {last}\n{await compose.LogsAsync()}");
    }
}
