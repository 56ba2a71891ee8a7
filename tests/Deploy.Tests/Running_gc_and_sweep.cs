using System.Diagnostics;

namespace RegistryIntegrity.Deploy.Tests;

/// <summary>
/// deploy/registry/gc-and-sweep.sh with a stand-in registry binary that reports a version and
/// records whether garbage-collect ran: every spelling of -m that the registry's flag library
/// (cobra/pflag) takes is refused on 2.x, and so is an unreadable version.
/// </summary>
public sealed class Running_gc_and_sweep : IDisposable
{
    private const string Registry282 = "docker-registry github.com/docker/distribution 2.8.2+ds1";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("rit-gc-and-sweep-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Theory]
    [InlineData("-m")]
    [InlineData("-m=true")]
    [InlineData("-m=1")]
    [InlineData("--delete-untagged")]
    [InlineData("--delete-untagged=1")]
    [InlineData("--delete-untagged=True")]
    [InlineData("-dm")]
    [InlineData("-md")]
    [InlineData("-dm=t")]
    [InlineData("--delete-untagged=false -m")]
    public async Task Every_true_form_of_delete_untagged_is_refused_on_2x(string flags)
    {
        var (exitCode, ran, output) = await RunAsync(Registry282, flags);

        Assert.True(exitCode == 64, output);
        Assert.False(ran, output);
        Assert.Contains("refusing --delete-untagged", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("something went wrong")]
    public async Task Delete_untagged_is_refused_when_the_version_cannot_be_read(string version)
    {
        var (exitCode, ran, output) = await RunAsync(version, "-m");

        Assert.True(exitCode == 64, output);
        Assert.False(ran, output);
        Assert.Contains("cannot read the registry version", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Registry282, "--delete-untagged=false")]
    [InlineData(Registry282, "-m=0")]
    [InlineData(Registry282, "-m --delete-untagged=F")]
    [InlineData(Registry282, "-- -m")]
    [InlineData(Registry282, "")]
    [InlineData("registry github.com/distribution/distribution/v3 v3.0.0", "-m")]
    public async Task Garbage_collect_runs_when_nothing_untagged_is_deleted_on_2x(string version, string flags)
    {
        var (exitCode, ran, output) = await RunAsync(version, flags);

        Assert.True(ran, output);
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
        Assert.False(ran, output);
    }

    private async Task<(int ExitCode, bool Ran, string Output)> RunAsync(string version, string flags)
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
        start.Environment["VERIFIER_URL"] = "http://127.0.0.1:1";
        start.Environment["SWEEP_ATTEMPTS"] = "1";
        start.Environment["SWEEP_RETRY_DELAY"] = "0";
        start.Environment.Remove("GC_ALLOW_DELETE_UNTAGGED_ON_2X");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, File.Exists(marker), await stdout + await stderr);
    }
}
