using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RegistryIntegrity.Deploy.Tests;

/// <summary>
/// scripts/run.sh, the README's first command: a Listener or Verifier still running from an earlier run holds its
/// port and would answer the readiness checks in place of the new one, so the script said "running" while the old
/// processes served. It now refuses before starting anything.
/// </summary>
public sealed class Running_the_product_locally : IDisposable
{
    private readonly DirectoryInfo _stackDir = Directory.CreateTempSubdirectory("rit-run-sh-");

    public void Dispose() => _stackDir.Delete(recursive: true);

    [Theory]
    [InlineData("LISTENER_PORT")]
    [InlineData("VERIFIER_PORT")]
    public async Task Refuses_to_start_when_a_service_port_is_already_taken(string portVariable)
    {
        using var earlier = new TcpListener(IPAddress.Loopback, 0);
        earlier.Start();
        var port = ((IPEndPoint)earlier.LocalEndpoint).Port;

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(RepositoryFiles.PathOf("scripts", "run.sh"));
        start.Environment["STACK_DIR"] = _stackDir.FullName;
        start.Environment[portVariable] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var run = Process.Start(start)!;
        var stdout = run.StandardOutput.ReadToEndAsync();
        var stderr = run.StandardError.ReadToEndAsync();
        await run.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var output = await stdout + await stderr;

        Assert.True(run.ExitCode == 1, output);
        Assert.Contains($"port {port} on 127.0.0.1 is already in use", output, StringComparison.Ordinal);
        Assert.DoesNotContain("is running", output, StringComparison.Ordinal);
        // Nothing was started: the stack would have written its folders there.
        Assert.Empty(_stackDir.EnumerateFileSystemInfos());
    }
}
