using System.Diagnostics;
using System.Net;

namespace RegistryIntegrity.Deploy.Tests;

/// <summary>
/// deploy/registry/gc-and-sweep.sh with a stand-in registry binary that reports a version and records whether
/// garbage-collect ran (and with which flags), and a stand-in verifier that answers the GC forecast and the sweep
/// request: a GC the forecast says would break tagged images is refused unless --force; --delete-untagged without a
/// complete forecast is refused (every spelling of -m that the registry's flag library, cobra/pflag, takes), and
/// so is -m with an unreadable version.
/// </summary>
public sealed class Running_gc_and_sweep : IDisposable
{
    private const string Registry282 = "docker-registry github.com/docker/distribution 2.8.2+ds1";
    private const string Registry3 = "registry github.com/distribution/distribution/v3 v3.0.0";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("rit-gc-and-sweep-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Theory]
    [InlineData("-m")]
    [InlineData("-m=true")]
    [InlineData("-m=1")]
    [InlineData("--delete-untagged")]
    [InlineData("--delete-untagged=1")]
    [InlineData("--delete-untagged=True")]
    [InlineData("--delete-untagged=false -m")]
    public async Task Every_true_form_of_delete_untagged_is_refused_without_a_forecast(string flags)
    {
        var (exitCode, ran, output) = await RunAsync(Registry282, flags);

        Assert.True(exitCode == 66, output);
        Assert.Null(ran);
        Assert.Contains("refusing --delete-untagged without a complete forecast", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-dm")]
    [InlineData("-md")]
    [InlineData("-dm=t")]
    public async Task A_dry_run_with_delete_untagged_asks_for_that_forecast_prints_it_and_is_never_refused(string flags)
    {
        using var verifier = new StandInVerifier("would-break");

        var (exitCode, ran, output) = await RunAsync(Registry282, flags, verifier.Url);

        Assert.True(exitCode == 0, output);
        Assert.Equal($"garbage-collect {Path.Combine(_folder.FullName, "config.yml")} {flags}", ran);
        Assert.Contains("BREAKS infra/ci:latest", output, StringComparison.Ordinal);
        Assert.Equal(["/v1/gc-forecast?mode=delete-untagged&version=2.8&format=text"], verifier.Requests);
    }

    [Theory]
    [InlineData("")]
    [InlineData("something went wrong")]
    public async Task Delete_untagged_is_refused_when_the_version_cannot_be_read(string version)
    {
        var (exitCode, ran, output) = await RunAsync(version, "-m");

        Assert.True(exitCode == 64, output);
        Assert.Null(ran);
        Assert.Contains("cannot read the registry version", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Registry282, "--delete-untagged=false")]
    [InlineData(Registry282, "-m=0")]
    [InlineData(Registry282, "-m --delete-untagged=F")]
    [InlineData(Registry282, "-- -m")]
    [InlineData(Registry282, "")]
    public async Task Plain_garbage_collect_runs_even_without_a_forecast(string version, string flags)
    {
        var (exitCode, ran, output) = await RunAsync(version, flags);

        Assert.NotNull(ran);
        Assert.Contains("no forecast", output, StringComparison.Ordinal);
        // No verifier answers on port 1: GC ran, the sweep could not be requested.
        Assert.True(exitCode == 69, output);
    }

    [Theory]
    [InlineData("--delete-untagged=yes")]
    [InlineData("-m=on")]
    public async Task A_value_that_is_not_a_boolean_is_a_usage_error(string flags)
    {
        var (exitCode, ran, output) = await RunAsync(Registry282, flags);

        Assert.True(exitCode == 64, output);
        Assert.Null(ran);
    }

    [Fact]
    public async Task A_gc_the_forecast_says_would_break_tagged_images_is_refused_and_the_forecast_printed()
    {
        using var verifier = new StandInVerifier("would-break");

        var (exitCode, ran, output) = await RunAsync(Registry282, "-m", verifier.Url);

        Assert.True(exitCode == 65, output);
        Assert.Null(ran);
        Assert.Contains("BREAKS infra/ci:latest", output, StringComparison.Ordinal);
        Assert.Contains("refusing: the forecast above says this GC would break tagged images", output, StringComparison.Ordinal);
        Assert.Equal(["/v1/gc-forecast?mode=delete-untagged&version=2.8&format=text"], verifier.Requests);
    }

    [Fact]
    public async Task Force_runs_it_anyway_without_passing_force_on_to_garbage_collect()
    {
        using var verifier = new StandInVerifier("would-break");

        var (exitCode, ran, output) = await RunAsync(Registry282, "--force -m", verifier.Url);

        Assert.True(exitCode == 0, output);
        Assert.Equal($"garbage-collect {Path.Combine(_folder.FullName, "config.yml")} -m", ran);
        Assert.Contains("--force: running a GC that the forecast says breaks tagged images", output, StringComparison.Ordinal);
        Assert.Equal(["/v1/gc-forecast?mode=delete-untagged&version=2.8&format=text", .. FollowedSweep], verifier.Requests);
    }

    [Theory]
    [InlineData(Registry282, "-m", "mode=delete-untagged&version=2.8")]
    [InlineData(Registry3, "--delete-untagged", "mode=delete-untagged&version=3")]
    [InlineData(Registry3, "", "mode=plain&version=3")]
    public async Task A_safe_forecast_for_the_registrys_own_version_lets_the_gc_run_then_a_sweep(string version, string flags, string query)
    {
        using var verifier = new StandInVerifier("safe");

        var (exitCode, ran, output) = await RunAsync(version, flags, verifier.Url);

        Assert.True(exitCode == 0, output);
        Assert.NotNull(ran);
        Assert.Equal([$"/v1/gc-forecast?{query}&format=text", .. FollowedSweep], verifier.Requests);
        Assert.Contains("sweep new-sweep completed: 12 manifests checked in 3 repositories; 0 broken", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_incomplete_forecast_refuses_delete_untagged_but_not_a_dry_run()
    {
        using var verifier = new StandInVerifier("incomplete");

        var refused = await RunAsync(Registry282, "-m", verifier.Url);
        var dryRun = await RunAsync(Registry282, "-m --dry-run", verifier.Url);

        Assert.True(refused.ExitCode == 66, refused.Output);
        Assert.Null(refused.Ran);
        Assert.Contains("INCOMPLETE: no sweep has completed yet", refused.Output, StringComparison.Ordinal);
        Assert.True(dryRun.ExitCode == 0, dryRun.Output);
        Assert.NotNull(dryRun.Ran);
    }

    /// <summary>After GC: the sweep requested, followed to its end, and the broken count read.</summary>
    private static readonly string[] FollowedSweep = ["/v1/sweeps", "/v1/sweeps/new-sweep", "/v1/status"];

    [Fact]
    public async Task A_sweep_running_since_before_the_gc_is_waited_out_and_a_new_one_followed_to_its_result()
    {
        using var verifier = new StandInVerifier("safe", runningSinceBefore: true);

        var (exitCode, ran, output) = await RunAsync(Registry282, "", verifier.Url);

        Assert.True(exitCode == 0, output);
        Assert.NotNull(ran);
        Assert.Equal(["/v1/gc-forecast?mode=plain&version=2.8&format=text", "/v1/sweeps", "/v1/sweeps/old-sweep", .. FollowedSweep], verifier.Requests);
        Assert.Contains("sweep old-sweep was already running since before the GC", output, StringComparison.Ordinal);
        Assert.Contains("sweep new-sweep completed: 12 manifests checked in 3 repositories; 0 broken", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broken_manifests_after_the_gc_exit_67_and_say_where_they_are_listed()
    {
        using var verifier = new StandInVerifier("safe", broken: 2);

        var (exitCode, _, output) = await RunAsync(Registry282, "", verifier.Url);

        Assert.True(exitCode == 67, output);
        Assert.Contains("; 2 broken", output, StringComparison.Ordinal);
        Assert.Contains($"GET {verifier.Url}/v1/broken", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("failed", "sweep new-sweep failed: catalog inaccessible")]
    [InlineData("running", "sweep new-sweep has not finished after 1 s (status: running)")]
    public async Task A_sweep_that_fails_or_outlasts_the_wait_exits_68(string sweepStatus, string said)
    {
        using var verifier = new StandInVerifier("safe", sweepStatus);

        var (exitCode, _, output) = await RunAsync(Registry282, "", verifier.Url, new() { ["SWEEP_WAIT"] = "1" });

        Assert.True(exitCode == 68, output);
        Assert.Contains(said, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_no_wait_the_sweep_is_requested_and_not_followed()
    {
        using var verifier = new StandInVerifier("safe");

        var (exitCode, _, output) = await RunAsync(Registry282, "", verifier.Url, new() { ["SWEEP_WAIT"] = "0" });

        Assert.True(exitCode == 0, output);
        Assert.Equal(["/v1/gc-forecast?mode=plain&version=2.8&format=text", "/v1/sweeps"], verifier.Requests);
        Assert.Contains($"sweep new-sweep requested: {verifier.Url}/v1/sweeps/new-sweep", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SWEEP_WAIT", "soon")]
    [InlineData("SWEEP_POLL_INTERVAL", "-1")]
    [InlineData("SWEEP_ATTEMPTS", "ten")]
    public async Task A_setting_that_is_not_a_whole_number_is_a_usage_error_before_anything_runs(string name, string value)
    {
        // Empty is the default (as for every setting of this script), not an error.
        var (exitCode, ran, output) = await RunAsync(Registry282, "", environment: new() { [name] = value });

        Assert.True(exitCode == 64, output);
        Assert.Null(ran);
        Assert.Contains($"{name} must be a whole number", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zero_attempts_at_the_sweep_is_a_usage_error()
    {
        var (exitCode, ran, output) = await RunAsync(Registry282, "", environment: new() { ["SWEEP_ATTEMPTS"] = "0" });

        Assert.True(exitCode == 64, output);
        Assert.Null(ran);
        Assert.Contains("SWEEP_ATTEMPTS must be at least 1", output, StringComparison.Ordinal);
    }

    /// <returns>Ran: the garbage-collect command line the stand-in registry received, or null when it did not run.</returns>
    private async Task<(int ExitCode, string? Ran, string Output)> RunAsync(
        string version, string flags, string verifierUrl = "http://127.0.0.1:1", Dictionary<string, string>? environment = null)
    {
        var registry = Path.Combine(_folder.FullName, "registry");
        var marker = Path.Combine(_folder.FullName, "gc-ran");
        File.Delete(marker);
        await File.WriteAllTextAsync(registry,
            "#!/bin/sh\n" +
            "case \"$1\" in\n" +
            "  --version) [ -n \"$FAKE_VERSION\" ] && echo \"$FAKE_VERSION\" || exit 1 ;;\n" +
            "  garbage-collect) echo \"$@\" > \"$FAKE_MARKER\" ;;\n" +
            "esac\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(registry, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(RepositoryFiles.PathOf("deploy", "registry", "gc-and-sweep.sh"));
        foreach (var flag in flags.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            start.ArgumentList.Add(flag);
        start.Environment["REGISTRY_BIN"] = registry;
        start.Environment["FAKE_VERSION"] = version;
        start.Environment["FAKE_MARKER"] = marker;
        start.Environment["CONFIG"] = Path.Combine(_folder.FullName, "config.yml");
        start.Environment["VERIFIER_URL"] = verifierUrl;
        start.Environment["SWEEP_ATTEMPTS"] = "1";
        start.Environment["SWEEP_RETRY_DELAY"] = "0";
        start.Environment["SWEEP_POLL_INTERVAL"] = "0";
        foreach (var (key, value) in environment ?? [])
            start.Environment[key] = value;
        start.Environment.Remove("REGISTRY_VERSION");
        start.Environment.Remove("VERIFIER_TOKEN");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, File.Exists(marker) ? File.ReadAllText(marker).Trim() : null, await stdout + await stderr);
    }

    /// <summary>
    /// Answers GET /v1/gc-forecast with a text forecast whose result is given; POST /v1/sweeps with 202 and a sweep
    /// started now (or, when <paramref name="runningSinceBefore"/>, first with 200 and a sweep started an hour ago);
    /// GET /v1/sweeps/{id} with <paramref name="sweepStatus"/> (the hour-old sweep: completed); GET /v1/status with
    /// <paramref name="broken"/> broken manifests.
    /// </summary>
    private sealed class StandInVerifier : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<string> _requests = [];
        private int _posts;

        public StandInVerifier(string result, string sweepStatus = "completed", int broken = 0, bool runningSinceBefore = false)
        {
            var free = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            free.Start();
            var port = ((IPEndPoint)free.LocalEndpoint).Port;
            free.Stop();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }
                    var path = context.Request.RawUrl ?? "";
                    lock (_requests)
                        _requests.Add(path);
                    var (status, body) = (context.Request.HttpMethod, path) switch
                    {
                        ("POST", "/v1/sweeps") when runningSinceBefore && Interlocked.Increment(ref _posts) == 1 =>
                            (200, Sweep("old-sweep", "running", DateTimeOffset.UtcNow.AddHours(-1))),
                        ("POST", "/v1/sweeps") => (202, Sweep("new-sweep", "enumerating", DateTimeOffset.UtcNow)),
                        ("GET", "/v1/sweeps/old-sweep") => (200, Sweep("old-sweep", "completed", DateTimeOffset.UtcNow.AddHours(-1))),
                        ("GET", "/v1/sweeps/new-sweep") => (200, Sweep("new-sweep", sweepStatus, DateTimeOffset.UtcNow)),
                        ("GET", "/v1/status") => (200, $"{{\"manifests\":{{\"healthy\":10,\"broken\":{broken},\"indeterminate\":0}},\"missingObjects\":{broken}}}"),
                        _ => (200, result switch
                        {
                            "would-break" => "result: would-break\nforecast of `garbage-collect --delete-untagged` on distribution 2.8\nBREAKS infra/ci:latest (sha256:1)\n",
                            "incomplete" => "result: incomplete\nINCOMPLETE: no sweep has completed yet\n",
                            _ => $"result: {result}\n",
                        }),
                    };
                    context.Response.StatusCode = status;
                    var bytes = System.Text.Encoding.UTF8.GetBytes(body);
                    await context.Response.OutputStream.WriteAsync(bytes);
                    context.Response.Close();
                }
            });
        }

        /// <summary>The Verifier's sweep view: id, status, and its progress.</summary>
        private static string Sweep(string id, string status, DateTimeOffset startedAt) =>
            $"{{\"id\":\"{id}\",\"status\":\"{status}\",\"progress\":{{\"id\":\"{id}\",\"trigger\":\"api\",\"startedAt\":\"{startedAt:O}\"," +
            $"\"repositoriesDone\":3,\"manifestsChecked\":12,\"catalogError\":{(status == "failed" ? "\"catalog inaccessible\"" : "null")}}}}}";

        public string Url { get; }

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                    return [.. _requests];
            }
        }

        public void Dispose() => _listener.Close();
    }
}
