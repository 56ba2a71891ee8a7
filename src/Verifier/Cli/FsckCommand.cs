using RegistryIntegrity.Verifier.RegistryStorage;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>fsck [--root DIR]</c>: verifies the whole registry from its filesystem storage, with the sweep's verdicts into the
/// store, plus what the API cannot show (layer links and revisions whose data is gone, data that cannot be read).
/// Exit codes as <c>check</c>: 0 nothing found, 1 broken, 2 indeterminate (something could not be read), 64 a bad
/// argument or setting (no such root, not a registry root). Never changes the storage, except
/// <c>--fix-layer-links --apply</c>, which removes dangling layer links and only those.
/// </summary>
internal static class FsckCommand
{
    public const int Healthy = 0, Broken = 1, Indeterminate = 2, BadArgument = SettingsException.ExitCode;

    public static Command Create()
    {
        var root = new Option<string?>("--root") { Description = "The storage driver's rootdirectory (holding docker/registry/v2); default RegistryStorage:Root." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON document." };
        var fix = new Option<bool>("--fix-layer-links") { Description = "Remove layer links whose blob data is gone (a dry run unless --apply)." };
        var apply = new Option<bool>("--apply") { Description = "With --fix-layer-links: really remove them." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log debug lines to stderr." };
        var command = new Command("fsck", "Verify the whole registry from its storage (read-only), store the verdicts and print what is broken.")
        {
            root, json, fix, apply, verbose,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new FsckOutput(parse.GetValue(json), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            try
            {
                return await RunAsync(parse.GetValue(root), parse.GetValue(fix), parse.GetValue(apply), parse.GetValue(verbose), parse.UnmatchedTokens.ToArray(), output, cancellationToken);
            }
            catch (SettingsException e)
            {
                return await output.FailAsync("usage-error", BadArgument, e.Problems);
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(string? rootOption, bool fix, bool apply, bool verbose, string[] configArgs, FsckOutput output, CancellationToken cancellationToken)
    {
        if (configArgs.FirstOrDefault(a => !(a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal))) is { } unknown)
            return await output.FailAsync("usage-error", BadArgument, [$"unknown argument '{unknown}' (configuration overrides look like --Store:ConnectionString=...)"]);
        if (apply && !fix)
            return await output.FailAsync("usage-error", BadArgument, ["--apply only goes with --fix-layer-links"]);

        var builder = CommandLineHost.CreateBuilder(configArgs, verbose ? CliLogs.Verbose : CliLogs.Normal);
        CommandLineHost.CheckSettings(builder.Configuration, VerifierParts.Store | VerifierParts.Sweep, output.Error);
        var root = rootOption ?? builder.Configuration[$"{RegistryStorageOptions.SectionName}:{nameof(RegistryStorageOptions.Root)}"];
        if (string.IsNullOrWhiteSpace(root))
            return await output.FailAsync("usage-error", BadArgument, ["no storage root: give --root or RegistryStorage:Root (the storage driver's rootdirectory)"]);

        var storage = new FileSystemRegistryStorage(root);
        var check = storage.CheckRoot();
        if (check.Outcome == StorageOutcome.Missing)
            return await output.FailAsync("usage-error", BadArgument, [check.Reason!]);
        if (check.Outcome == StorageOutcome.Unreadable)
            return await output.FailAsync("indeterminate", Indeterminate, [check.Reason!]);

        builder.Services.AddSystemTime();
        builder.Services.AddDapperRepositories();
        builder.Services.AddSweeps();
        builder.Services.AddStorageScan(storage.Root);
        using var host = builder.Build();
        try
        {
            await host.Services.GetRequiredService<IVerdictStore>().MigrateAsync(cancellationToken);
        }
        catch (System.Data.Common.DbException e)
        {
            return await output.FailAsync("indeterminate", Indeterminate, [$"the verdict store cannot be used: {e.Message.Split('\n')[0].Trim()}"]);
        }

        var scan = host.Services.GetRequiredService<StorageScan>();
        var lastProgress = TimeSpan.Zero;
        ScanResult result;
        try
        {
            result = await scan.RunAsync(fix, apply, progress =>
            {
                lock (output)
                {
                    if (progress.Elapsed - lastProgress < TimeSpan.FromSeconds(1))
                        return;
                    lastProgress = progress.Elapsed;
                    output.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"fsck: {progress.Repositories} repositories, {progress.Manifests} manifests, {progress.LayerLinks} layer links, {progress.Findings} findings ({progress.Manifests / Math.Max(progress.Elapsed.TotalSeconds, 0.001):F0} manifests/s)"));
                }
            }, cancellationToken);
        }
        catch (RegistryStorageException e)
        {
            return await output.FailAsync("indeterminate", Indeterminate, [$"the storage could not be listed: {e.Message}"]);
        }
        catch (System.Data.Common.DbException e)
        {
            return await output.FailAsync("indeterminate", Indeterminate, [$"the verdict store failed during the scan: {e.Message.Split('\n')[0].Trim()}"]);
        }
        return await output.ReportAsync(storage.Root, fix, apply, result);
    }
}

/// <summary>The <c>--json</c> document of <c>fsck</c> (README, "Storage scan").</summary>
internal sealed record FsckReport
{
    public string Result { get; init; } = "healthy";
    public int ExitCode { get; init; }
    public string? Reason { get; init; }
    public string? Root { get; init; }
    public int Repositories { get; init; }
    public int Tags { get; init; }
    public int Manifests { get; init; }
    public int LayerLinks { get; init; }
    public int LayerLinksRemoved { get; init; }
    public string? FixLayerLinks { get; init; }
    public double ElapsedSeconds { get; init; }
    public double ManifestsPerSecond { get; init; }
    public IReadOnlyList<Finding> Findings { get; init; } = [];
}

internal sealed class FsckOutput(bool json, TextWriter output, TextWriter error)
{
    public TextWriter Error => error;

    public async Task<int> FailAsync(string result, int exitCode, IReadOnlyList<string> problems)
    {
        foreach (var problem in problems)
            await error.WriteLineAsync($"fsck: {problem}");
        if (json)
            await output.WriteLineAsync(JsonSerializer.Serialize(new FsckReport { Result = result, ExitCode = exitCode, Reason = string.Join("; ", problems) }, CommandLineHost.Json));
        return exitCode;
    }

    public async Task<int> ReportAsync(string root, bool fix, bool apply, ScanResult scan)
    {
        var (result, exitCode) = scan.Findings.Any(f => f.IsBroken) ? ("broken", FsckCommand.Broken)
            : scan.Findings.Count > 0 ? ("indeterminate", FsckCommand.Indeterminate)
            : ("healthy", FsckCommand.Healthy);
        var report = new FsckReport
        {
            Result = result,
            ExitCode = exitCode,
            Root = root,
            Repositories = scan.Repositories,
            Tags = scan.Tags,
            Manifests = scan.Manifests,
            LayerLinks = scan.LayerLinks,
            LayerLinksRemoved = scan.LayerLinksRemoved,
            FixLayerLinks = !fix ? null : apply ? "applied" : "dry-run",
            ElapsedSeconds = Math.Round(scan.Elapsed.TotalSeconds, 3),
            ManifestsPerSecond = Math.Round(scan.Manifests / Math.Max(scan.Elapsed.TotalSeconds, 0.001), 1),
            Findings = scan.Findings,
        };
        await output.WriteLineAsync(json ? JsonSerializer.Serialize(report, CommandLineHost.Json) : Describe(report));
        return exitCode;
    }

    private static string Describe(FsckReport report)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"{report.Result.ToUpperInvariant()} {report.Root}: {report.Repositories} repositories, {report.Tags} tags, {report.Manifests} manifests, {report.LayerLinks} layer links in {report.ElapsedSeconds:F1} s ({report.ManifestsPerSecond:F0} manifests/s), {report.Findings.Count} finding(s)"),
        };
        if (report.FixLayerLinks is not null)
            lines.Add($"  layer links removed: {report.LayerLinksRemoved}{(report.FixLayerLinks == "dry-run" ? " (dry run: --apply removes them)" : "")}");
        foreach (var finding in report.Findings)
        {
            var subject = finding.Tag is not null ? $"{finding.Repository}:{finding.Tag}" : finding.Digest is not null ? $"{finding.Repository}@{finding.Digest}" : finding.Repository;
            lines.Add(finding.Kind == FindingKind.Indeterminate
                ? $"  could not tell: {subject}: {finding.Detail}"
                : $"  {JsonNamingPolicy.KebabCaseLower.ConvertName(finding.Kind.ToString())} {subject}: {finding.Detail}");
            lines.AddRange(finding.Missing.Where(m => m.Path.Count > 0).Select(m =>
                $"    missing {m.Kind} {m.Digest}{CheckCommand.Codes(m.StatusCode, m.ErrorCode)} via {string.Join(" > ", m.Path)}"));
        }
        return string.Join(Environment.NewLine, lines);
    }
}
