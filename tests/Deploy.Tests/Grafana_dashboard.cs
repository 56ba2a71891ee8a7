using System.Text.Json;

namespace RegistryIntegrity.Deploy.Tests;

public class Grafana_dashboard
{
    private static readonly string DashboardPath = Path.Combine(RepositoryFiles.Chart, "files", "dashboard.json");

    [Fact]
    public void Parses_as_json_with_a_title_a_uid_and_panels()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var root = document.RootElement;
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("uid").GetString()));
        Assert.True(root.GetProperty("panels").GetArrayLength() > 0);
    }

    [Fact]
    public void Shows_verdicts_latency_sweeps_the_listener_registry_requests_and_the_queue()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var queries = document.RootElement.GetProperty("panels").EnumerateArray()
            .Where(panel => panel.TryGetProperty("targets", out _))
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .Select(target => target.GetProperty("expr").GetString()!)
            .ToList();
        string[] metrics =
        [
            "registry_integrity_broken_manifests", "registry_integrity_indeterminate_manifests",
            "registry_integrity_verifications_total", "registry_integrity_event_to_verdict_seconds_bucket",
            "registry_integrity_sweep_last_completed_timestamp_seconds", "registry_integrity_sweep_duration_seconds",
            "registry_integrity_listener_request_duration_seconds_count", "registry_integrity_listener_request_duration_seconds_bucket",
            "registry_integrity_registry_requests_total", "rabbitmq_queue_messages_ready",
        ];
        foreach (var metric in metrics)
            Assert.True(queries.Any(query => query.Contains(metric, StringComparison.Ordinal)), $"no panel queries {metric}");
    }
}
