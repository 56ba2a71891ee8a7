using System.Text.Json;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Cli;

/// <summary>
/// The <c>check</c> verb as CI runs it: its own process, started from a directory that is not its own,
/// every outcome in text and in JSON. Asserts the exit code, that stdout is only the result (one JSON
/// document with --json), that nothing but the result is printed, and how long it took.
/// </summary>
[Collection(RealRegistryCollection.Name)]
public sealed class The_check_verb_contract(RealRegistry registry, CheckContractRegistries secured) : IDisposable, IClassFixture<CheckContractRegistries>
{
    private readonly RegistryPusher _pusher = new(registry.Uri);
    private readonly string _elsewhere = Directory.CreateTempSubdirectory("check-cwd-").FullName;
    private System.Net.Sockets.TcpListener? _failing;

    public void Dispose()
    {
        _pusher.Dispose();
        _failing?.Stop();
        Directory.Delete(_elsewhere, recursive: true);
    }

    /// <summary>A registry in trouble (a proxy in front of one that restarts): every request gets 503 with the body <c>[]</c>.</summary>
    private int StartFailingRegistry()
    {
        _failing = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        _failing.Start();
        var listener = _failing;
        _ = Task.Run(async () =>
        {
            var answer = System.Text.Encoding.ASCII.GetBytes(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]");
            while (true)
            {
                System.Net.Sockets.TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is ObjectDisposedException or System.Net.Sockets.SocketException)
                {
                    return;
                }
                using (client)
                {
                    var stream = client.GetStream();
                    var request = new byte[8192];
                    // The request line and headers (a GET or HEAD has no body); whatever it asked, the answer is the same.
                    _ = await stream.ReadAtLeastAsync(request, 1, throwOnEndOfStream: false);
                    await stream.WriteAsync(answer);
                }
            }
        });
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<string[]> ArgumentsAsync(string outcome)
    {
        var host = registry.Uri.Authority;
        switch (outcome)
        {
            case "healthy":
                // A loopback registry is spoken to over plain HTTP without being told, as docker does.
                var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("contract"), "v1");
                return ["check", $"{host}/{image.Repository}:v1"];
            case "broken":
                var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("contract"), "v1");
                await _pusher.DeleteManifestAsync(index.Repository, index.Children[0].Digest);
                return ["check", $"localhost:{registry.Uri.Port}/{index.Repository}:v1"];
            case "dangling-tag":
                var dangling = await _pusher.PushImageAsync(RealRegistry.NewRepository("contract"), "v1");
                var hex = dangling.Digest["sha256:".Length..];
                File.Delete(Path.Combine(registry.Stack.StackDir, "registry", "data", "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data"));
                return ["check", $"{host}/{dangling.Repository}:v1", "--plain-http"];
            case "not-found":
                return ["check", $"{host}/{RealRegistry.NewRepository("contract")}:v1", "--plain-http"];
            case "unreachable":
                return ["check", $"127.0.0.1:{LocalStack.GetFreeTcpPorts(1)[0]}/team/app:v1", "--plain-http"];
            case "registry-503":
                return ["check", $"127.0.0.1:{StartFailingRegistry()}/team/app:v1", "--plain-http"];
            case "tls-untrusted":
                return ["check", $"https://{secured.Tls.Host}/{CheckContractRegistries.Repository}:v1", .. secured.Credentials];
            case "tls-wrong-host":
                // The CA is trusted; the certificate names 127.0.0.1 only.
                return ["check", $"https://localhost:{secured.Tls.Host.Split(':')[1]}/{CheckContractRegistries.Repository}:v1", "--ca-file", secured.CaFile, .. secured.Credentials];
            case "tls-to-plain-http":
                return ["check", $"https://{host}/team/app:v1"];
            case "tls-insecure":
                return ["check", $"https://{secured.Tls.Host}/{CheckContractRegistries.Repository}:v1", "--insecure", .. secured.Credentials];
            case "auth-failure":
                return ["check", $"{secured.Registry.Uri.Authority}/{CheckContractRegistries.Repository}:v1", "--Registry:Username=" + secured.Registry.User, "--Registry:Password=wrong-Pa55"];
            default:
                return ["check", "not a reference"];
        }
    }

    [Theory]
    [InlineData("healthy", 0, "healthy")]
    [InlineData("broken", 1, "broken")]
    [InlineData("dangling-tag", 1, "broken")]
    [InlineData("not-found", 3, "not-found")]
    [InlineData("unreachable", 2, "indeterminate")]
    [InlineData("registry-503", 2, "indeterminate")]
    [InlineData("usage-error", 64, "usage-error")]
    [InlineData("tls-untrusted", 2, "indeterminate")]
    [InlineData("tls-wrong-host", 2, "indeterminate")]
    [InlineData("tls-to-plain-http", 2, "indeterminate")]
    [InlineData("tls-insecure", 0, "healthy")]
    [InlineData("auth-failure", 2, "indeterminate")]
    public async Task Every_outcome_has_its_exit_code_and_one_result_on_stdout(string outcome, int exitCode, string result)
    {
        var arguments = await ArgumentsAsync(outcome);

        var text = await ServiceProcess.RunCommandAsync("Verifier", arguments, new Dictionary<string, string>(), TimeSpan.FromSeconds(60), _elsewhere);
        var json = await ServiceProcess.RunCommandAsync("Verifier", [.. arguments, "--json"], new Dictionary<string, string>(), TimeSpan.FromSeconds(60), _elsewhere);

        Assert.True(text.ExitCode == exitCode, text.ToString());
        Assert.True(json.ExitCode == exitCode, json.ToString());
        using var document = JsonDocument.Parse(json.StandardOutput);
        Assert.Equal(result, document.RootElement.GetProperty("result").GetString());
        Assert.Equal(exitCode, document.RootElement.GetProperty("exitCode").GetInt32());
        if (exitCode == 64)
        {
            Assert.Equal("", text.StandardOutput);
            Assert.StartsWith("check: ", text.StandardError, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith(result.Replace('-', ' ').ToUpperInvariant() + " ", text.StandardOutput, StringComparison.Ordinal);
            Assert.Equal("", text.StandardError);
            Assert.Equal("", json.StandardError);
        }
        if (outcome.StartsWith("tls-", StringComparison.Ordinal) && exitCode != 0)
        {
            // One line: the inner reason and what to try.
            var line = text.StandardOutput.Split('\n').Single(l => l.Contains("TLS with the registry failed: ", StringComparison.Ordinal));
            Assert.True(line.Contains("--plain-http", StringComparison.Ordinal) && line.Contains("--insecure", StringComparison.Ordinal) && line.Contains("--ca-file", StringComparison.Ordinal), line);
            Assert.Contains("--insecure", document.RootElement.GetProperty("hint").GetString(), StringComparison.Ordinal);
            Assert.Contains("TLS with the registry failed: ", document.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }
        if (outcome == "auth-failure")
            Assert.Contains("401", document.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        // One attempt against the registry, whatever the outcome: far below the default retries' backoff (~14 s).
        Assert.True(text.Elapsed < TimeSpan.FromSeconds(20), text.ToString());
        Assert.False(File.Exists(Path.Combine(_elsewhere, "verifier.db")), "check created a store in the working directory");
    }
}

/// <summary>The real registry behind htpasswd with one image, and HTTPS in front of it with a certificate from a CA only the test knows.</summary>
public sealed class CheckContractRegistries : IAsyncLifetime
{
    public const string Repository = "contract/secured";
    private readonly string _folder = Directory.CreateTempSubdirectory("check-tls-").FullName;

    public HtpasswdRegistry Registry { get; private set; } = null!;

    public TlsProxy Tls { get; private set; } = null!;

    /// <summary>The proxy's CA as a PEM file, for <c>--ca-file</c>.</summary>
    public string CaFile { get; private set; } = "";

    public string[] Credentials => ["--Registry:Username=" + Registry.User, "--Registry:Password=" + Registry.Password];

    public async Task InitializeAsync()
    {
        Registry = await HtpasswdRegistry.StartAsync("contract-ci", "contract-Pa55");
        using (var pusher = new RegistryPusher(Registry.Uri, Registry.User, Registry.Password))
            await pusher.PushImageAsync(Repository, "v1");
        Tls = await TlsProxy.StartAsync(Registry.Uri);
        CaFile = TestCertificates.WritePem(Tls.Authority, _folder, "ca.pem");
    }

    public async Task DisposeAsync()
    {
        if (Tls is not null)
            await Tls.DisposeAsync();
        if (Registry is not null)
            await Registry.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
