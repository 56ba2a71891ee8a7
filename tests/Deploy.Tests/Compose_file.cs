using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace RegistryIntegrity.Deploy.Tests;

/// <summary>deploy/compose/compose.yaml as a file; tests/Containers.Tests runs it for real.</summary>
public partial class Compose_file
{
    private static YamlMappingNode Services() =>
        RepositoryFiles.Mapping(RepositoryFiles.Child(RepositoryFiles.LoadYaml(RepositoryFiles.PathOf("deploy", "compose", "compose.yaml")), "services")!, "services");

    private static IEnumerable<(string Name, YamlNode Service)> EachService() =>
        Services().Children.Select(pair => (((YamlScalarNode)pair.Key).Value!, pair.Value));

    [Fact]
    public void Every_image_is_overridable_by_an_environment_variable_and_defaults_to_a_public_name()
    {
        var services = EachService().ToList();
        Assert.Equal(["registry", "rabbitmq", "postgres", "listener", "storage-watcher", "verifier"], services.Select(s => s.Name));
        foreach (var (name, service) in services)
        {
            var image = RepositoryFiles.Scalar(service, "image") ?? "";
            var match = ImageReference().Match(image);
            Assert.True(match.Success, $"{name}: image '{image}' is not ${{NAME_IMAGE:-default}}");
            Assert.DoesNotContain("localhost", match.Groups["default"].Value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_storage_watcher_runs_the_listener_image_on_the_registrys_volume_read_only()
    {
        var services = Services();
        var watcher = RepositoryFiles.Child(services, "storage-watcher")!;
        var registryVolume = ((YamlSequenceNode)RepositoryFiles.Child(RepositoryFiles.Child(services, "registry")!, "volumes")!).Children
            .Select(v => ((YamlScalarNode)v).Value!).Single(v => v.EndsWith(":/var/lib/registry", StringComparison.Ordinal));
        var root = ((YamlScalarNode)RepositoryFiles.Child(RepositoryFiles.Child(watcher, "environment")!, "StorageWatcher__Root")!).Value;

        Assert.Equal(RepositoryFiles.Scalar(RepositoryFiles.Child(services, "listener")!, "image"), RepositoryFiles.Scalar(watcher, "image"));
        Assert.Equal(["watch-storage"], ((YamlSequenceNode)RepositoryFiles.Child(watcher, "command")!).Children.Select(c => ((YamlScalarNode)c).Value));
        Assert.Equal([$"{registryVolume}:ro"], ((YamlSequenceNode)RepositoryFiles.Child(watcher, "volumes")!).Children.Select(v => ((YamlScalarNode)v).Value));
        Assert.Equal("/var/lib/registry", root);
    }

    [Fact]
    public void Host_ports_are_bound_to_loopback_except_the_registrys()
    {
        foreach (var (name, service) in EachService())
        {
            var ports = (RepositoryFiles.Child(service, "ports") as YamlSequenceNode)?.Children.Select(p => ((YamlScalarNode)p).Value!) ?? [];
            foreach (var port in ports)
            {
                if (name == "registry")
                    Assert.StartsWith("${REGISTRY_BIND:-0.0.0.0}:", port, StringComparison.Ordinal);
                else
                    Assert.StartsWith("127.0.0.1:", port, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void No_password_or_token_is_written_in_the_file()
    {
        foreach (var (name, service) in EachService())
        {
            if (RepositoryFiles.Child(service, "environment") is not YamlMappingNode environment)
                continue;
            foreach (var (key, value) in environment.Children)
            {
                // A *_FILE variable or a path under /run/secrets names a secret file: that is the point.
                var variable = ((YamlScalarNode)key).Value!;
                if (variable.EndsWith("_FILE", StringComparison.Ordinal))
                    continue;
                Assert.DoesNotMatch(SecretSetting(), $"{variable}={SecretFile().Replace(((YamlScalarNode)value).Value!, "")}");
            }
        }
    }

    [Fact]
    public void The_registry_config_posts_to_the_listener_and_ignores_pulls_the_2_8_way()
    {
        var config = RepositoryFiles.LoadYaml(RepositoryFiles.PathOf("deploy", "compose", "registry-config.yml"));
        var endpoint = ((YamlSequenceNode)RepositoryFiles.Child(RepositoryFiles.Child(config, "notifications")!, "endpoints")!).Children.Single();
        Assert.Equal("http://listener:8080/v1/events", RepositoryFiles.Scalar(endpoint, "url"));
        var ignore = RepositoryFiles.Child(endpoint, "ignore")!;
        Assert.NotEmpty(((YamlSequenceNode)RepositoryFiles.Child(ignore, "mediatypes")!).Children);
        Assert.Contains("pull", ((YamlSequenceNode)RepositoryFiles.Child(ignore, "actions")!).Children.Select(a => ((YamlScalarNode)a).Value));
    }

    [GeneratedRegex(@"^\$\{[A-Z]+_IMAGE:-(?<default>[^}]+)\}$")]
    private static partial Regex ImageReference();

    [GeneratedRegex(@"/run/secrets/[^;\s]+")]
    private static partial Regex SecretFile();

    [GeneratedRegex("(?i)password|passwd|token|pass=")]
    private static partial Regex SecretSetting();
}
