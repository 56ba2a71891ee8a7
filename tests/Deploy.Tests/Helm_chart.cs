using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace RegistryIntegrity.Deploy.Tests;

/// <summary>
/// What can be checked of the chart without a helm binary: the plain YAML parses, the
/// templates only use values that exist, and their blocks are balanced.
/// </summary>
public partial class Helm_chart
{
    public static TheoryData<string> PlainYamlFiles()
    {
        var data = new TheoryData<string> { "Chart.yaml", "values.yaml" };
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryFiles.Chart, "files"), "*.yml").Order(StringComparer.Ordinal))
            data.Add(Path.Combine("files", Path.GetFileName(file)));
        return data;
    }

    [Theory]
    [MemberData(nameof(PlainYamlFiles))]
    public void Every_yaml_file_outside_the_templates_parses(string relativePath)
    {
        var root = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, relativePath));
        Assert.IsType<YamlMappingNode>(root);
    }

    [Fact]
    public void Chart_yaml_names_the_chart_and_its_versions()
    {
        var chart = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "Chart.yaml"));
        Assert.Equal("v2", RepositoryFiles.Scalar(chart, "apiVersion"));
        Assert.Equal("registry-integrity", RepositoryFiles.Scalar(chart, "name"));
        Assert.False(string.IsNullOrWhiteSpace(RepositoryFiles.Scalar(chart, "version")));
        Assert.False(string.IsNullOrWhiteSpace(RepositoryFiles.Scalar(chart, "appVersion")));
    }

    [Fact]
    public void Every_value_a_template_references_exists()
    {
        var values = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "values.yaml"));
        var missing = new List<string>();
        var referenced = 0;
        foreach (var (file, text) in Templates())
        {
            foreach (Match match in ValuesPath().Matches(text))
            {
                referenced++;
                var path = match.Groups["path"].Value;
                if (!Exists(values, path.Split('.', StringSplitOptions.RemoveEmptyEntries)))
                    missing.Add($"{file}: .Values.{path}");
            }
        }
        Assert.True(referenced > 50, $"only {referenced} .Values references found: is the pattern still right?");
        Assert.True(missing.Count == 0, "Not in values.yaml:\n" + string.Join("\n", missing.Distinct()));
    }

    [Fact]
    public void Every_template_opens_and_closes_its_blocks()
    {
        foreach (var (file, text) in Templates())
        {
            var withoutComments = Comment().Replace(text, "");
            var opened = BlockStart().Matches(withoutComments).Count;
            var closed = BlockEnd().Matches(withoutComments).Count;
            Assert.True(opened == closed, $"{file}: {opened} if/range/with/define but {closed} end");
            var actions = withoutComments.Split("{{").Length - 1;
            var actionEnds = withoutComments.Split("}}").Length - 1;
            Assert.True(actions == actionEnds, $"{file}: {actions} '{{{{' but {actionEnds} '}}}}'");
        }
    }

    [Fact]
    public void Every_file_a_template_embeds_exists()
    {
        foreach (var (file, text) in Templates())
        {
            foreach (Match match in FilesGet().Matches(text))
            {
                var embedded = Path.Combine(RepositoryFiles.Chart, match.Groups["file"].Value);
                Assert.True(File.Exists(embedded), $"{file} embeds {match.Groups["file"].Value}, which does not exist");
            }
        }
    }

    [Fact]
    public void The_prometheus_rule_embeds_the_unit_tested_rule_file()
    {
        var template = File.ReadAllText(Path.Combine(RepositoryFiles.Chart, "templates", "prometheusrule.yaml"));
        Assert.Contains(".Files.Get \"files/alerts.yml\"", template, StringComparison.Ordinal);
        var alertsTest = File.ReadAllText(RepositoryFiles.PathOf("deploy", "alerts", "tests", "alerts_test.yml"));
        Assert.Contains("../../helm/registry-integrity/files/alerts.yml", alertsTest, StringComparison.Ordinal);
    }

    [Fact]
    public void Probes_and_metrics_use_the_management_port_and_not_the_service_port()
    {
        var templates = Path.Combine(RepositoryFiles.Chart, "templates");
        var configMap = File.ReadAllText(Path.Combine(templates, "configmap.yaml"));
        Assert.Equal(2, Regex.Matches(configMap, "Management__Port: \"8081\"").Count);
        foreach (var component in (string[])["listener", "verifier"])
        {
            var deployment = File.ReadAllText(Path.Combine(templates, $"{component}-deployment.yaml"));
            Assert.Matches(@"- name: management\s+containerPort: 8081", deployment);
            Assert.Equal(3, Regex.Matches(deployment, @"httpGet:\s+path: /healthz/\w+\s+port: management\b").Count);
            Assert.DoesNotMatch(@"port: http\b", deployment);
            Assert.Matches(@"- name: management\s+port: 8081\s+targetPort: management", File.ReadAllText(Path.Combine(templates, $"{component}-service.yaml")));
        }
        Assert.Matches(@"- port: management\s+path: /metrics", File.ReadAllText(Path.Combine(templates, "servicemonitor.yaml")));
    }

    [Fact]
    public void The_listener_keeps_serving_a_few_seconds_after_it_is_told_to_stop()
    {
        var deployment = File.ReadAllText(Path.Combine(RepositoryFiles.Chart, "templates", "listener-deployment.yaml"));
        Assert.Matches(@"lifecycle:\s+preStop:\s+sleep:\s+seconds: \{\{ \.Values\.listener\.preStopSleepSeconds \}\}", deployment);
        var values = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "values.yaml"));
        var listener = RepositoryFiles.Child(values, "listener")!;
        var sleep = int.Parse(RepositoryFiles.Scalar(listener, "preStopSleepSeconds")!, System.Globalization.CultureInfo.InvariantCulture);
        var grace = int.Parse(RepositoryFiles.Scalar(listener, "terminationGracePeriodSeconds")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(sleep, 1, 30);
        Assert.True(sleep + 10 < grace, "preStop sleep plus the 10 s shutdown timeout must fit in the grace period");
    }

    [Fact]
    public void The_pods_run_locked_down()
    {
        var values = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "values.yaml"));
        var pod = RepositoryFiles.Child(values, "podSecurityContext")!;
        Assert.Equal("true", RepositoryFiles.Scalar(pod, "runAsNonRoot"));
        Assert.Equal("RuntimeDefault", RepositoryFiles.Scalar(RepositoryFiles.Child(pod, "seccompProfile")!, "type"));
        var container = RepositoryFiles.Child(values, "containerSecurityContext")!;
        Assert.Equal("false", RepositoryFiles.Scalar(container, "allowPrivilegeEscalation"));
        Assert.Equal("true", RepositoryFiles.Scalar(container, "readOnlyRootFilesystem"));
        var drop = (YamlSequenceNode)RepositoryFiles.Child(RepositoryFiles.Child(container, "capabilities")!, "drop")!;
        Assert.Contains(drop.Children, node => node is YamlScalarNode { Value: "ALL" });

        foreach (var deployment in new[] { "listener-deployment.yaml", "verifier-deployment.yaml" })
        {
            var text = File.ReadAllText(Path.Combine(RepositoryFiles.Chart, "templates", deployment));
            Assert.Contains("mountPath: /tmp", text, StringComparison.Ordinal);
            Assert.Contains("path: /healthz/live", text, StringComparison.Ordinal);
            Assert.Contains("path: /healthz/ready", text, StringComparison.Ordinal);
            Assert.Contains("toYaml .Values.containerSecurityContext", text, StringComparison.Ordinal);
            Assert.Contains("toYaml .Values.podSecurityContext", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void By_default_only_named_peers_reach_the_pods_and_the_verifier_api_needs_a_token()
    {
        var values = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "values.yaml"));
        var templates = Templates().ToDictionary(t => t.File, t => t.Text);

        Assert.Equal("true", RepositoryFiles.Scalar(RepositoryFiles.Child(values, "networkPolicy")!, "enabled"));
        Assert.Matches(@"secretRef:\s+name: \{\{ include ""registry-integrity.apiSecretName"" \. \}\}", templates["verifier-deployment.yaml"]);
        // Neither an existing Secret nor one to create: the install fails, it does not run open.
        var apiSecretName = templates["_helpers.tpl"][templates["_helpers.tpl"].IndexOf("define \"registry-integrity.apiSecretName\"", StringComparison.Ordinal)..];
        Assert.Matches(@"\{\{- else -\}\}\s+\{\{- fail ""api: set api.existingSecret", apiSecretName);
        Assert.Contains("Api__Tokens__{{ $index }}", templates["secrets.yaml"], StringComparison.Ordinal);
    }

    [Fact]
    public void The_storage_watcher_sidecar_example_reads_the_secret_and_runs_the_image_the_chart_provides()
    {
        var values = RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "values.yaml"));
        var appVersion = RepositoryFiles.Scalar(RepositoryFiles.LoadYaml(Path.Combine(RepositoryFiles.Chart, "Chart.yaml")), "appVersion");
        var sidecar = RepositoryFiles.LoadYaml(RepositoryFiles.PathOf("deploy", "helm", "storage-watcher-sidecar.values.yaml"));
        var container = Assert.IsType<YamlMappingNode>(Assert.Single(Assert.IsType<YamlSequenceNode>(RepositoryFiles.Child(sidecar, "extraContainers"))));
        var broker = Assert.Single(Assert.IsType<YamlSequenceNode>(RepositoryFiles.Child(container, "env")),
            e => RepositoryFiles.Scalar(e, "name") == "ConnectionStrings__RabbitMq");
        var secret = RepositoryFiles.Child(RepositoryFiles.Child(broker, "valueFrom")!, "secretKeyRef")!;

        // The secret the chart creates (rabbitmq.create) for a release named registry-integrity.
        Assert.Equal("registry-integrity-rabbitmq", RepositoryFiles.Scalar(secret, "name"));
        Assert.Equal(RepositoryFiles.Scalar(RepositoryFiles.Child(values, "rabbitmq")!, "key"), RepositoryFiles.Scalar(secret, "key"));
        var listenerImage = RepositoryFiles.Child(RepositoryFiles.Child(values, "listener")!, "image")!;
        Assert.Equal($"{RepositoryFiles.Scalar(listenerImage, "repository")}:{appVersion}", RepositoryFiles.Scalar(container, "image"));
    }

    private static IEnumerable<(string File, string Text)> Templates() =>
        Directory.GetFiles(Path.Combine(RepositoryFiles.Chart, "templates"))
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), File.ReadAllText(path)));

    private static bool Exists(YamlNode node, IEnumerable<string> path)
    {
        foreach (var key in path)
        {
            var child = RepositoryFiles.Child(node, key);
            if (child is null)
                return false;
            node = child;
        }
        return true;
    }

    [GeneratedRegex(@"\.Values(?<path>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")]
    private static partial Regex ValuesPath();

    [GeneratedRegex(@"\{\{-?\s*/\*.*?\*/\s*-?\}\}", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"\{\{-?\s*(?:if|range|with|define|block)\b")]
    private static partial Regex BlockStart();

    [GeneratedRegex(@"\{\{-?\s*end\s*-?\}\}")]
    private static partial Regex BlockEnd();

    [GeneratedRegex(@"\.Files\.Get\s+""(?<file>[^""]+)""")]
    private static partial Regex FilesGet();
}
