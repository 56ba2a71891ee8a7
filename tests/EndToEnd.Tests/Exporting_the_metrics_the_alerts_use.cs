using System.Net;
using System.Text.RegularExpressions;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>An alert or dashboard panel on a metric nobody exports can never fire: every name they use must be served.</summary>
public sealed partial class Exporting_the_metrics_the_alerts_use(RunningProduct product) : IClassFixture<RunningProduct>
{
    [Fact]
    public async Task Every_product_metric_in_the_rules_and_the_dashboard_is_served_once_the_product_has_worked()
    {
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("metrics/app", "v1");
        await product.WaitForVerdictAsync(image.Repository, image.Digest, "healthy", TimeSpan.FromSeconds(30));
        var sweep = await product.StartFreshSweepAsync(TimeSpan.FromSeconds(30));
        await product.WaitForSweepAsync(sweep, TimeSpan.FromSeconds(30));

        using var http = new HttpClient();
        var verifierServed = await http.GetStringAsync(new Uri(product.Verifier.BaseUri, "/metrics"));
        var served = verifierServed + await http.GetStringAsync(new Uri(product.Listener!.BaseUri, "/metrics"));
        var chart = Path.Combine(RepositoryRoot.Find(), "deploy", "helm", "registry-integrity", "files");
        var used = ProductMetric().Matches(await File.ReadAllTextAsync(Path.Combine(chart, "alerts.yml")) + await File.ReadAllTextAsync(Path.Combine(chart, "dashboard.json")))
            .Select(m => HistogramSuffix().Replace(m.Value, ""))
            // The storage watcher (watch-storage mode) serves its own: StorageWatcher/Watching_the_registry_storage checks them.
            .Where(name => !name.StartsWith(StorageWatcherMetricPrefix, StringComparison.Ordinal))
            .Distinct()
            .Order()
            .ToList();

        Assert.NotEmpty(used);
        var missing = used.Where(name => !Regex.IsMatch(served, $@"^{name}(_bucket|_count|_sum)?[{{ ]", RegexOptions.Multiline)).ToList();
        Assert.True(missing.Count == 0, $"not served: {string.Join(", ", missing)}");
        // The sweep-stale rule joins the Verifier's process_start_time_seconds with its sweep cycle gauge.
        Assert.Matches("(?m)^process_start_time_seconds [0-9]", verifierServed);
    }

    public const string StorageWatcherMetricPrefix = "registry_integrity_storage_watcher_";

    [GeneratedRegex(@"registry_integrity_[a-z_]+")]
    public static partial Regex ProductMetric();

    [GeneratedRegex(@"_(bucket|count|sum)$")]
    private static partial Regex HistogramSuffix();
}
