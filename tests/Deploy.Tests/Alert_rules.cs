using YamlDotNet.RepresentationModel;

namespace RegistryIntegrity.Deploy.Tests;

/// <summary>
/// files/alerts.yml: every alert is documented, linked to an existing runbook and unit-tested.
/// (promtool itself checks the expressions and runs the tests: deploy/alerts/check.sh.)
/// </summary>
public class Alert_rules
{
    /// <summary>The base of every runbook_url in the rule file; the chart replaces it with a value.</summary>
    private const string RunbookBase = "https://github.com/OWNER/registry-integrity/blob/main/";

    private static readonly string RulesPath = Path.Combine(RepositoryFiles.Chart, "files", "alerts.yml");

    [Fact]
    public void The_rule_file_holds_the_alerts_the_product_needs()
    {
        var names = Alerts().Select(alert => RepositoryFiles.Scalar(alert, "alert")).ToList();
        string[] required =
        [
            "RegistryBrokenManifests", "RegistryIndeterminateManifests", "RegistryIntegritySweepStale",
            "RegistryCatalogInaccessible", "RegistryNoEventsReceived", "RegistryListenerQuarantining",
            "RegistryListenerPublishFailing", "RegistryIntegrityErrorQueueNotEmpty",
            "RegistryVerifierBacklogGrowing", "RegistryRestartedWithoutSweep", "RegistryGcWouldBreakTaggedImages",
            "RegistryStorageWatcherNotWatching", "RegistryStorageWatcherAbsent", "RegistryStorageWatcherSilent",
        ];
        foreach (var name in required)
            Assert.Contains(name, names);
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void Every_alert_has_a_severity_a_summary_a_description_and_a_runbook_url()
    {
        foreach (var alert in Alerts())
        {
            var name = RepositoryFiles.Scalar(alert, "alert");
            var labels = RepositoryFiles.Child(alert, "labels");
            var annotations = RepositoryFiles.Child(alert, "annotations");
            Assert.True(labels is not null, $"{name}: no labels");
            Assert.True(annotations is not null, $"{name}: no annotations");
            Assert.Contains(RepositoryFiles.Scalar(labels!, "severity"), new[] { "critical", "warning", "info" });
            foreach (var key in new[] { "summary", "description", "runbook_url" })
                Assert.False(string.IsNullOrWhiteSpace(RepositoryFiles.Scalar(annotations!, key)), $"{name}: no {key}");
        }
    }

    [Fact]
    public void Every_runbook_url_points_at_an_existing_runbook()
    {
        foreach (var alert in Alerts())
        {
            var name = RepositoryFiles.Scalar(alert, "alert")!;
            var url = RepositoryFiles.Scalar(RepositoryFiles.Child(alert, "annotations")!, "runbook_url")!;
            Assert.Equal($"{RunbookBase}docs/runbooks/{name}.md", url);
            var runbook = RepositoryFiles.PathOf("docs", "runbooks", $"{name}.md");
            Assert.True(File.Exists(runbook), $"{name}: {runbook} does not exist");
            Assert.StartsWith($"# {name}", File.ReadAllText(runbook), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_chart_replaces_the_same_runbook_base_it_defaults_to()
    {
        var template = File.ReadAllText(Path.Combine(RepositoryFiles.Chart, "templates", "prometheusrule.yaml"));
        Assert.Contains($"replace \"{RunbookBase}\" .Values.prometheusRule.runbookBaseUrl", template, StringComparison.Ordinal);
        var values = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "values.yaml"));
        Assert.Equal(RunbookBase, RepositoryFiles.Scalar(RepositoryFiles.Child(values, "prometheusRule")!, "runbookBaseUrl"));
    }

    [Fact]
    public void Every_alert_has_a_promtool_unit_test()
    {
        var tests = RepositoryFiles.LoadYaml(RepositoryFiles.PathOf("deploy", "alerts", "tests", "alerts_test.yml"));
        var tested = ((YamlSequenceNode)RepositoryFiles.Child(tests, "tests")!).Children
            .SelectMany(test => RepositoryFiles.Child(test, "alert_rule_test") is YamlSequenceNode cases ? cases.Children : [])
            .Select(testCase => RepositoryFiles.Scalar(testCase, "alertname"))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var alert in Alerts())
            Assert.Contains(RepositoryFiles.Scalar(alert, "alert"), tested);
    }

    private static IEnumerable<YamlNode> Alerts()
    {
        var rules = RepositoryFiles.LoadYaml(RulesPath);
        var groups = (YamlSequenceNode)RepositoryFiles.Child(rules, "groups")!;
        var alerts = groups.Children
            .SelectMany(group => ((YamlSequenceNode)RepositoryFiles.Child(group, "rules")!).Children)
            .Where(rule => RepositoryFiles.Child(rule, "alert") is not null)
            .ToList();
        Assert.NotEmpty(alerts);
        return alerts;
    }
}
