using YamlDotNet.RepresentationModel;

namespace RegistryIntegrity.Deploy.Tests;

/// <summary>Finds files of the repository: the folder holding Listener.sln, above the test binaries.</summary>
internal static class RepositoryFiles
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Chart => Path.Combine(Root, "deploy", "helm", "registry-integrity");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static YamlNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(path));
        stream.Load(reader);
        Assert.True(stream.Documents.Count == 1, $"{path}: expected one YAML document, found {stream.Documents.Count}");
        return stream.Documents[0].RootNode;
    }

    public static YamlMappingNode Mapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw new InvalidOperationException($"{what} is not a mapping");

    public static YamlNode? Child(YamlNode node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static string? Scalar(YamlNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Listener.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No folder holding Listener.sln above {AppContext.BaseDirectory}");
    }
}
