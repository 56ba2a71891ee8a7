using System.Text.RegularExpressions;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Contracts.Tests;

/// <summary>
/// Reads every source file under src/ and draws an edge from the file's area (its namespace cut to
/// <c>RegistryIntegrity.Service.Area</c>) to each area it names: a using directive or a fully qualified
/// name, a name qualified from the service (<c>Repair.RepairHints</c> inside the Verifier), or a type of a
/// parent namespace, which C# makes visible without either (<c>ListenerOptions</c> inside the Listener).
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
        var cycles = new List<string>();
        foreach (var area in graph.Keys.Order(StringComparer.Ordinal))
        {
            // Every area this one reaches, with the path: a path back to itself is a cycle.
            var paths = new Dictionary<string, string> { [area] = area };
            var queue = new Queue<string>([area]);
            while (queue.Count > 0)
            {
                var from = queue.Dequeue();
                foreach (var next in graph.GetValueOrDefault(from, []).Order(StringComparer.Ordinal))
                {
                    if (next == area)
                    {
                        cycles.Add($"{paths[from]} -> {area}");
                        queue.Clear();
                        break;
                    }
                    if (paths.TryAdd(next, $"{paths[from]} -> {next}"))
                        queue.Enqueue(next);
                }
            }
        }

        Assert.True(cycles.Count == 0, $"Namespace cycles in src/:\n{string.Join('\n', cycles)}");
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
        // Types declared directly in a namespace that has namespaces below it (a service's or a project's root).
        var parentTypes = files
            .Select(f => (Match: Declaration().Match(f.Code), f.Code))
            .Where(f => f.Match.Success && declared.Any(n => n.StartsWith(f.Match.Groups[1].Value + ".", StringComparison.Ordinal)))
            .SelectMany(f => TypeDeclaration().Matches(f.Code).Select(t => (Namespace: f.Match.Groups[1].Value, Type: t.Groups[1].Value)))
            .ToList();
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (_, code) in files)
        {
            var declaration = Declaration().Match(code);
            if (!declaration.Success)
            {
                continue; // top-level statements (Program.cs): the entry point names everything
            }

            var own = declaration.Groups[1].Value;
            var area = Area(own);
            var uses = graph.TryGetValue(area, out var known) ? known : graph[area] = [];
            var body = Declaration().Replace(code, "");
            var mentions = Name().Matches(body).Select(m => m.Value)
                .Concat(Qualified().Matches(body)
                    .Select(m => (Namespace: $"{Service(own)}.{m.Groups[1].Value}", Name: m.Groups[2].Value))
                    .Where(q => declared.Contains(q.Namespace))
                    .Select(q => $"{q.Namespace}.{q.Name}"));
            foreach (var mention in mentions)
            {
                // The longest declared namespace the name starts with: a type or namespace of that area.
                var named = declared.Where(n => mention == n || mention.StartsWith(n + ".", StringComparison.Ordinal)).MaxBy(n => n.Length);
                if (named is not null && Area(named) != area)
                {
                    uses.Add(Area(named));
                }
            }

            foreach (var (parent, type) in parentTypes)
            {
                if (own.StartsWith(parent + ".", StringComparison.Ordinal) && Area(parent) != area
                    && Regex.IsMatch(body, $@"(?<![\w.]){type}\b"))
                {
                    uses.Add(Area(parent));
                }
            }
        }

        return graph;
    }

    private static string Service(string name) => string.Join('.', name.Split('.').Take(2));

    private static string Area(string name) => string.Join('.', name.Split('.').Take(3));

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\bRegistryIntegrity(\.\w+)+")]
    private static partial Regex Name();

    /// <summary><c>Area.Name</c> not preceded by a dot: a name qualified from the service's own namespace.</summary>
    [GeneratedRegex(@"(?<![\w.])([A-Z]\w*)\.([A-Z]\w*)")]
    private static partial Regex Qualified();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+([A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();
}
