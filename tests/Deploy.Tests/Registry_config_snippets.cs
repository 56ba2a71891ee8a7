using YamlDotNet.RepresentationModel;

namespace RegistryIntegrity.Deploy.Tests;

public class Registry_config_snippets
{
    public static TheoryData<string> Snippets() => new() { "config-2.8.yml", "config-3.x.yml" };

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Parses_as_yaml(string file)
    {
        Assert.IsType<YamlMappingNode>(Load(file));
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Sends_to_the_listener_with_the_documented_timing(string file)
    {
        var endpoint = Endpoint(file);
        Assert.EndsWith("/v1/events", RepositoryFiles.Scalar(endpoint, "url"), StringComparison.Ordinal);
        Assert.Equal("3s", RepositoryFiles.Scalar(endpoint, "timeout"));
        Assert.Equal("3", RepositoryFiles.Scalar(endpoint, "threshold"));
        Assert.Equal("1s", RepositoryFiles.Scalar(endpoint, "backoff"));
        var authorization = (YamlSequenceNode)RepositoryFiles.Child(RepositoryFiles.Child(endpoint, "headers")!, "Authorization")!;
        Assert.StartsWith("Bearer ", ((YamlScalarNode)authorization.Children.Single()).Value, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Ignores_pulls_with_a_non_empty_media_type_list(string file)
    {
        var ignore = RepositoryFiles.Child(Endpoint(file), "ignore")!;
        var mediaTypes = Values(RepositoryFiles.Child(ignore, "mediatypes"));
        Assert.Contains("application/octet-stream", mediaTypes);
        Assert.Contains("pull", Values(RepositoryFiles.Child(ignore, "actions")));
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Keeps_the_debug_port_on_loopback(string file)
    {
        var address = RepositoryFiles.Scalar(RepositoryFiles.Child(RepositoryFiles.Child(Load(file), "http")!, "debug")!, "addr");
        Assert.True(address is not null && (address.StartsWith("127.0.0.1:", StringComparison.Ordinal) || address.StartsWith("localhost:", StringComparison.Ordinal)),
            $"http.debug.addr is {address}: /debug/vars shows the bearer token");
    }

    private static YamlNode Load(string file) => RepositoryFiles.LoadYaml(RepositoryFiles.PathOf("deploy", "registry", file));

    private static YamlNode Endpoint(string file)
    {
        var endpoints = (YamlSequenceNode)RepositoryFiles.Child(RepositoryFiles.Child(Load(file), "notifications")!, "endpoints")!;
        return endpoints.Children.Single();
    }

    private static List<string?> Values(YamlNode? node) =>
        node is YamlSequenceNode sequence ? sequence.Children.Select(child => (child as YamlScalarNode)?.Value).ToList() : [];
}
