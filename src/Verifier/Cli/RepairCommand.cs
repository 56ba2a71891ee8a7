using RegistryIntegrity.Verifier.Repair;
using System.CommandLine;
using System.Text.Json;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>repair &lt;repository&gt;[@digest|:tag] | --all [--apply] [--json]</c>: copies what broken images miss from
/// the configured sources (a dry run unless <c>--apply</c>), then walks them again and stores their verdicts.
/// Exit 0 repaired (dry run: repairable) or nothing to do, 1 still broken (dry run: some object is in no source),
/// 2 indeterminate, 64 a bad argument or setting. Progress and audit lines go to stderr; stdout carries the result.
/// </summary>
internal static class RepairCommand
{
    public static Command Create()
    {
        var target = new Argument<string?>("target")
        {
            Description = "team/app@sha256:... (one manifest), team/app:v1 (the manifest a tag points to, even a dangling one), or team/app (its broken manifests)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var all = new Option<bool>("--all") { Description = "Every broken manifest and dangling tag the store knows." };
        var apply = new Option<bool>("--apply") { Description = "Copy the missing objects (without it: a dry run that writes nothing)." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON document." };
        var command = new Command("repair", "Put broken images back by copying their missing objects from Repair:Sources.") { target, all, apply, json };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var console = parse.InvocationConfiguration;
            var asJson = parse.GetValue(json);
            try
            {
                return await RunAsync(parse.GetValue(target), parse.GetValue(all), parse.GetValue(apply), asJson, parse.UnmatchedTokens.ToArray(), console, cancellationToken);
            }
            catch (SettingsException e)
            {
                return await UsageErrorAsync(e.Problems, asJson, console);
            }
        });
        return command;
    }

    /// <summary>Parses <c>repo</c>, <c>repo@digest</c> or <c>repo:tag</c> into a request.</summary>
    internal static RepairRequest Parse(string? target, bool all, bool apply)
    {
        if (target is null)
            return new RepairRequest(All: all, Apply: apply);
        var at = target.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
            return new RepairRequest(target[..at], target[(at + 1)..], All: all, Apply: apply);
        var colon = target.LastIndexOf(':');
        return colon > target.LastIndexOf('/')
            ? new RepairRequest(target[..colon], Tag: target[(colon + 1)..], All: all, Apply: apply)
            : new RepairRequest(target, All: all, Apply: apply);
    }

    private static async Task<int> RunAsync(
        string? target, bool all, bool apply, bool json, string[] configArgs, InvocationConfiguration console, CancellationToken cancellationToken)
    {
        // Without a target, the parser hands the first configuration override to the optional argument.
        if (target is not null && target.StartsWith("--", StringComparison.Ordinal))
            (target, configArgs) = ((string?)null, [target!, .. configArgs]);
        if (configArgs.FirstOrDefault(a => !(a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal))) is { } unknown)
            return await UsageErrorAsync([$"unknown argument '{unknown}' (configuration overrides look like --Repair:Sources:0:BaseUrl=https://mirror/)"], json, console);
        var request = Parse(target, all, apply);
        if (request.Problems() is { Count: > 0 } problems)
            return await UsageErrorAsync(problems, json, console);

        var builder = CommandLineHost.CreateBuilder(configArgs);
        CommandLineHost.CheckSettings(builder.Configuration, VerifierParts.Registry | VerifierParts.Store, console.Error);
        builder.Services.AddVerification();
        builder.Services.AddDapperRepositories();
        builder.Services.AddRepair(builder.Configuration, console.Error);
        using var host = builder.Build();
        await host.Services.GetRequiredService<IVerdictStore>().MigrateAsync(cancellationToken);
        var run = await host.Services.GetRequiredService<RepairService>().RunAsync(request, line => console.Error.WriteLine(line), cancellationToken);
        await console.Output.WriteLineAsync(json ? JsonSerializer.Serialize(View(run), CommandLineHost.Json) : Describe(run));
        return run.ExitCode;
    }

    private static object View(RepairRun run) =>
        new { run.Result, run.ExitCode, run.Applied, run.ObjectsCopied, run.BytesCopied, run.Problems, run.Manifests };

    private static async Task<int> UsageErrorAsync(IReadOnlyList<string> problems, bool json, InvocationConfiguration console)
    {
        foreach (var problem in problems)
            await console.Error.WriteLineAsync($"repair: {problem}");
        if (json)
            await console.Output.WriteLineAsync(JsonSerializer.Serialize(new { result = "usage-error", exitCode = SettingsException.ExitCode, reason = string.Join("; ", problems) }, CommandLineHost.Json));
        return SettingsException.ExitCode;
    }

    internal static string Describe(RepairRun run)
    {
        var lines = new List<string>
        {
            $"{run.Result.Replace('-', ' ').ToUpperInvariant()}{(run.Applied ? "" : " (dry run: nothing was written; --apply to copy)")}: " +
            $"{run.Manifests.Count} manifest(s), {run.ObjectsCopied} object(s) copied, {run.BytesCopied} bytes",
        };
        foreach (var manifest in run.Manifests)
        {
            lines.Add($"  {manifest.Result} {manifest.Repository}@{manifest.Digest}{(manifest.Tag is null ? "" : $" ({manifest.Tag})")}");
            lines.AddRange(manifest.Actions.Select(a =>
                $"    {a.Status} {a.Role} {a.Digest}{(a.Source is null ? "" : $" from {a.Source} {a.SourceRepository}")}{(a.Reason is null ? "" : $": {a.Reason}")}"));
            lines.AddRange(manifest.StillMissing.Select(m => $"    still missing {m.Kind} {m.Digest}: {m.Why}"));
            lines.AddRange(manifest.IndeterminateReasons.Select(r => $"    could not tell: {r}"));
        }
        lines.AddRange(run.Problems.Select(p => $"  {p}"));
        return string.Join(Environment.NewLine, lines);
    }
}
