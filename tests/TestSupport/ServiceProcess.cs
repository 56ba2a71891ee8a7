using System.Collections.Concurrent;
using System.Diagnostics;

namespace RegistryIntegrity.TestSupport;

/// <summary>
/// One of the product's services (Listener or Verifier) run as a real process from its build output,
/// bound to a free loopback port. Its output is kept for failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private string _readyPath = "/healthz/ready";

    private ServiceProcess(Process process, Uri baseUri, Uri managementUri)
    {
        _process = process;
        BaseUri = baseUri;
        ManagementUri = managementUri;
    }

    public Uri BaseUri { get; }

    /// <summary>Where probes and metrics are served: the <c>Management__Port</c> given in the environment, else <see cref="BaseUri"/>.</summary>
    public Uri ManagementUri { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _output);

    /// <param name="project">"Listener" or "Verifier": the folder under src/ and the assembly RegistryIntegrity.&lt;project&gt;.dll.</param>
    public static async Task<ServiceProcess> StartAsync(
        string project, IReadOnlyDictionary<string, string> environment, IReadOnlyList<string>? arguments = null, TimeSpan? readyWithin = null, int? fixedPort = null,
        string? workingDirectory = null, string readyPath = "/healthz/ready")
    {
        var port = fixedPort ?? LocalStack.GetFreeTcpPorts(1)[0];
        var baseUri = new Uri($"http://127.0.0.1:{port}");
        var startInfo = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(AssemblyPath(project))!,
        };
        startInfo.ArgumentList.Add(AssemblyPath(project));
        foreach (var argument in arguments ?? [])
            startInfo.ArgumentList.Add(argument);
        startInfo.Environment["Urls"] = baseUri.ToString();
        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Production";
        startInfo.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (name, value) in environment)
            startInfo.Environment[name] = value;

        var process = new Process { StartInfo = startInfo };
        var managementUri = environment.TryGetValue("Management__Port", out var managementPort) ? new Uri($"http://127.0.0.1:{managementPort}") : baseUri;
        var service = new ServiceProcess(process, baseUri, managementUri) { _readyPath = readyPath };
        process.OutputDataReceived += (_, e) => service.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => service.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await service.WaitUntilReadyAsync(readyWithin ?? TimeSpan.FromSeconds(60));
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    public async Task WaitUntilReadyAsync(TimeSpan within)
    {
        using var http = new HttpClient { BaseAddress = ManagementUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{_process.StartInfo.ArgumentList[0]} exited with {_process.ExitCode}:\n{Output}");
            try
            {
                if ((await http.GetAsync(_readyPath)).IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{BaseUri} was not ready within {within.TotalSeconds} s:\n{Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        _output.Enqueue(line);
        while (_output.Count > 2000)
            _output.TryDequeue(out _);
    }

    /// <summary>Runs a CLI verb of a service to completion: its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunVerbAsync(
        string project, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var environmentWithDefaults = new Dictionary<string, string>(environment) { ["DOTNET_ENVIRONMENT"] = "Production" };
        var result = await ProcessRunner.RunAsync("dotnet", [AssemblyPath(project), .. arguments], environmentWithDefaults, timeout);
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    /// <summary>Runs a CLI verb (or a service that is expected to stop) to completion, stdout and stderr apart.</summary>
    public static async Task<CommandResult> RunCommandAsync(
        string project, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, string? workingDirectory = null)
    {
        var environmentWithDefaults = new Dictionary<string, string>(environment) { ["DOTNET_ENVIRONMENT"] = "Production" };
        var started = Stopwatch.StartNew();
        var result = await ProcessRunner.RunAsync("dotnet", [AssemblyPath(project), .. arguments], environmentWithDefaults, timeout, workingDirectory);
        return new CommandResult(result.ExitCode, result.StandardOutput, result.StandardError, started.Elapsed);
    }

    private static string AssemblyPath(string project)
    {
        // Tests and services are built with the same configuration: .../bin/<Configuration>/net10.0/
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var path = Path.Combine(RepositoryRoot.Find(), "src", project, "bin", configuration, "net10.0", $"RegistryIntegrity.{project}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build src/{project} first: {path} is missing.");
    }
}

public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}
