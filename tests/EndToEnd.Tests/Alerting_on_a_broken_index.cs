using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The product's promise, end to end: a real Prometheus scrapes the running Listener and Verifier
/// every 15 s (the chart's ServiceMonitor interval) with the shipped rule file, and the broken
/// manifests alert fires within 60 s of an index child being deleted.
/// </summary>
public sealed class Alerting_on_a_broken_index(RunningProduct product) : IClassFixture<RunningProduct>, IAsyncLifetime
{
    private Process? _prometheus;
    private Uri _prometheusUri = null!;
    private string _prometheusDir = null!;

    public async Task InitializeAsync()
    {
        _prometheusDir = Directory.CreateTempSubdirectory("rit-prometheus-").FullName;
        var port = LocalStack.GetFreeTcpPorts(1)[0];
        _prometheusUri = new Uri($"http://127.0.0.1:{port}");
        var rules = Path.Combine(RepositoryRoot.Find(), "deploy", "helm", "registry-integrity", "files", "alerts.yml");
        var config = Path.Combine(_prometheusDir, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 15s
              evaluation_interval: 15s
            rule_files: ["{rules}"]
            scrape_configs:
              - job_name: registry-integrity
                static_configs:
                  - targets: ["{product.Verifier.BaseUri.Authority}", "{product.Listener!.BaseUri.Authority}"]
            """);
        var startInfo = new ProcessStartInfo("prometheus")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_prometheusDir, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
            startInfo.ArgumentList.Add(argument);
        _prometheus = Process.Start(startInfo)!;
        _prometheus.BeginOutputReadLine();
        _prometheus.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = _prometheusUri };
        for (var i = 0; i < 100 && !await IsReadyAsync(http); i++)
            await Task.Delay(200);
    }

    public async Task DisposeAsync()
    {
        if (_prometheus is { HasExited: false })
        {
            _prometheus.Kill(entireProcessTree: true);
            await _prometheus.WaitForExitAsync();
        }
        _prometheus?.Dispose();
        Directory.Delete(_prometheusDir, recursive: true);
    }

    [Fact]
    public async Task The_broken_manifests_alert_fires_within_60_s_of_the_delete()
    {
        using var registry = product.Registry();
        var index = await registry.PushIndexAsync("alerting/app", "latest", ["linux/amd64", "linux/arm64"], withAttestation: false);
        await product.WaitForVerdictAsync(index.Repository, index.Digest, "healthy", TimeSpan.FromSeconds(30));

        await registry.DeleteManifestAsync(index.Repository, index.Children[0].Digest);
        var deleted = Stopwatch.StartNew();

        using var http = new HttpClient { BaseAddress = _prometheusUri };
        var alerts = "";
        while (deleted.Elapsed < TimeSpan.FromSeconds(60))
        {
            var body = await http.GetFromJsonAsync<JsonElement>("/api/v1/alerts");
            alerts = body.ToString();
            if (body.GetProperty("data").GetProperty("alerts").EnumerateArray().Any(a =>
                    a.GetProperty("labels").GetProperty("alertname").GetString() == "RegistryBrokenManifests"
                    && a.GetProperty("state").GetString() == "firing"))
                return;
            await Task.Delay(1000);
        }
        Assert.Fail($"RegistryBrokenManifests was not firing 60 s after the delete. Alerts: {alerts}");
    }

    private static async Task<bool> IsReadyAsync(HttpClient http)
    {
        try
        {
            return (await http.GetAsync("/-/ready")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
