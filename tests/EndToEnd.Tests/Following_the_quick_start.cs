using System.Text.RegularExpressions;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The README's quick start, read from between its <c>quick-start</c> markers and run line by line against a started
/// product: what a new user types is what is tested. <c>scripts/run.sh</c> itself is the stack this fixture starts
/// (its ports replace the documented defaults); the lines it prints must be the README's.
/// </summary>
public sealed partial class Following_the_quick_start(RunningProduct product) : IClassFixture<RunningProduct>
{
    private const string RunScript = "scripts/run.sh";
    private const string DefaultRegistry = "127.0.0.1:55000", DefaultVerifier = "127.0.0.1:5090";

    private static readonly string Root = RepositoryRoot.Find();

    internal static IReadOnlyList<(string Command, string Expected)> QuickStart()
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        var block = QuickStartBlock().Match(readme);
        Assert.True(block.Success, "README.md has no <!-- quick-start:begin --> ```sh ... ``` <!-- quick-start:end --> block");
        return block.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split("# =>", 2))
            .Select(parts =>
            {
                Assert.True(parts.Length == 2 && parts[1].Trim().Length > 0, $"quick-start line without `# => <expected output>`: {parts[0]}");
                return (parts[0].Trim(), parts[1].Trim());
            })
            .ToList();
    }

    [Fact]
    public void Starts_with_run_sh_and_every_later_line_is_printed_by_it()
    {
        var lines = QuickStart();
        Assert.Equal(RunScript, lines[0].Command);
        var script = File.ReadAllText(Path.Combine(Root, RunScript))
            .Replace("127.0.0.1:$REGISTRY_PORT", DefaultRegistry, StringComparison.Ordinal)
            .Replace("127.0.0.1:$VERIFIER_PORT", DefaultVerifier, StringComparison.Ordinal);
        Assert.Contains(lines[0].Expected, script, StringComparison.Ordinal);
        Assert.Contains($"REGISTRY_PORT=${{REGISTRY_PORT:-{DefaultRegistry.Split(':')[1]}}}", script, StringComparison.Ordinal);
        Assert.Contains($"VERIFIER_PORT=${{VERIFIER_PORT:-{DefaultVerifier.Split(':')[1]}}}", script, StringComparison.Ordinal);
        foreach (var (command, _) in lines.Skip(1))
            Assert.Contains($"  {command}\n", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_command_ends_with_its_documented_output()
    {
        var registry = product.Stack.RegistryUri.Authority;
        var verifier = product.Verifier.BaseUri.Authority;
        var environment = new Dictionary<string, string> { ["REGISTRY_PORT"] = product.Stack.RegistryPort.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var (line, expected) in QuickStart().Skip(1))
        {
            var command = line.Replace(DefaultRegistry, registry, StringComparison.Ordinal).Replace(DefaultVerifier, verifier, StringComparison.Ordinal);
            // The verdict follows the push by a moment, as the README says: a command is run again until it says what is documented.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            ProcessResult result;
            while (true)
            {
                result = await ProcessRunner.RunAsync("bash", ["-c", command], environment, TimeSpan.FromSeconds(60), Root);
                if ((result.ExitCode == 0 && result.StandardOutput.Contains(expected, StringComparison.Ordinal)) || DateTime.UtcNow > deadline)
                    break;
                await Task.Delay(500);
            }
            Assert.True(result.ExitCode == 0, $"{line}\n{result.Describe()}");
            Assert.True(result.StandardOutput.Contains(expected, StringComparison.Ordinal), $"{line}: expected output containing {expected}\n{result.Describe()}");
        }
    }

    [GeneratedRegex(@"<!-- quick-start:begin -->\s*```sh\n(.*?)```\s*<!-- quick-start:end -->", RegexOptions.Singleline)]
    private static partial Regex QuickStartBlock();
}
