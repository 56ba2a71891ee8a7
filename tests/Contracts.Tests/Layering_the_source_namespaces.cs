using System.Text.RegularExpressions;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Contracts.Tests;

/// <summary>
/// Reads every source file under src/ and draws an edge from the file's area (its namespace cut to
/// <c>RegistryIntegrity.Service.Area</c>) to each area it names (a using directive or a qualified name).
/// Parent namespaces are visible without a using, so a cycle through them is not seen here: the
/// composition roots (<c>RegistryIntegrity.Listener</c>, <c>RegistryIntegrity.Verifier</c>) only compose.
/// </summary>
public partial class Layering_the_source_namespaces
{
    private static readonly string Source = Path.Combine(RepositoryRoot.Find(), "src");

    [Fact]
    public void Finds_every_service_area()
    {
        var graph = Graph();
        Assert.Contains("RegistryIntegrity.Verifier.Store", graph.Keys);
        Assert.Contains("RegistryIntegrity.Verifier.Verdicts", graph.Keys);
        Assert.Contains("RegistryIntegrity.Verifier.Verification", graph.Keys);
        Assert.Contains("RegistryIntegrity.Listener.Notifications", graph.Keys);
        Assert.Contains("RegistryIntegrity.Verifier.Verdicts", graph["RegistryIntegrity.Verifier.Store"]);
    }

    [Fact]
    public void Has_no_cycle_between_areas()
    {
        var graph = Graph();
        var state = new Dictionary<string, bool>(); // false: on the current path, true: done
        var path = new List<string>();

        string? Visit(string area)
        {
            state[area] = false;
            path.Add(area);
            foreach (var next in graph.GetValueOrDefault(area, []).Order(StringComparer.Ordinal))
            {
                if (!state.TryGetValue(next, out var done))
                {
                    if (Visit(next) is { } found)
                    {
                        return found;
                    }
                }
                else if (!done)
                {
                    return string.Join(" -> ", path.SkipWhile(a => a != next).Append(next));
                }
            }

            path.RemoveAt(path.Count - 1);
            state[area] = true;
            return null;
        }

        foreach (var area in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (!state.ContainsKey(area) && Visit(area) is { } cycle)
            {
                Assert.Fail($"Namespace cycle in src/: {cycle}");
            }
        }
    }

    [Fact]
    public void Keeps_the_verdict_model_free_of_the_store_and_the_verification()
    {
        var uses = Graph()["RegistryIntegrity.Verifier.Verdicts"];
        Assert.DoesNotContain("RegistryIntegrity.Verifier.Store", uses);
        Assert.DoesNotContain("RegistryIntegrity.Verifier.Verification", uses);
    }

    private static Dictionary<string, HashSet<string>> Graph()
    {
        var files = Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (Path: f, Code: Comment().Replace(File.ReadAllText(f), "")))
            .ToList();
        var declared = files.Select(f => Declaration().Match(f.Code)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet();
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (_, code) in files)
        {
            var declaration = Declaration().Match(code);
            if (!declaration.Success)
            {
                continue; // top-level statements (Program.cs): the entry point names everything
            }

            var area = Area(declaration.Groups[1].Value);
            var uses = graph.TryGetValue(area, out var known) ? known : graph[area] = [];
            foreach (Match mention in Name().Matches(Declaration().Replace(code, "")))
            {
                // The longest declared namespace the name starts with: a type or namespace of that area.
                var named = declared.Where(n => mention.Value == n || mention.Value.StartsWith(n + ".", StringComparison.Ordinal)).MaxBy(n => n.Length);
                if (named is not null && Area(named) != area)
                {
                    uses.Add(Area(named));
                }
            }
        }

        return graph;
    }

    private static string Area(string name) => string.Join('.', name.Split('.').Take(3));

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\bRegistryIntegrity(\.\w+)+")]
    private static partial Regex Name();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();
}
