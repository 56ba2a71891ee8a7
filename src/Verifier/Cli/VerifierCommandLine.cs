using System.CommandLine;
using RegistryIntegrity.Hosting.Settings;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>The Verifier's command line: no verb runs the service; verbs (<c>check</c>, <c>sweep</c>, <c>backfill</c>, <c>replay</c>, <c>replay-errors</c>) run once and exit.</summary>
public static class VerifierCommandLine
{
    /// <summary>Parses and runs; a usage error (unknown option, missing argument) exits 64 like any other bad argument.</summary>
    /// <param name="input">What <c>check --password-stdin</c> reads; the process's stdin when null.</param>
    public static async Task<int> InvokeAsync(string[] args, InvocationConfiguration? console = null, TextReader? input = null)
    {
        console ??= new InvocationConfiguration();
        CheckCommand.Input.Value = input;
        var parse = Create().Parse(args);
        if (parse.Errors.Count == 0)
            return await parse.InvokeAsync(console);
        var verb = parse.CommandResult.Command is RootCommand ? "verifier" : parse.CommandResult.Command.Name;
        var problems = parse.Errors.Select(e => e.Message).ToList();
        if (verb == "check")
        {
            var reference = parse.CommandResult.Tokens.FirstOrDefault(t => t.Type == System.CommandLine.Parsing.TokenType.Argument)?.Value ?? "";
            return await new CheckOutput(new CheckOptions(reference, args.Contains("--json"), false, 0, false), console.Output, console.Error).UsageErrorAsync(problems);
        }
        foreach (var problem in problems)
            await console.Error.WriteLineAsync($"{verb}: {problem}");
        return SettingsException.ExitCode;
    }

    public static RootCommand Create()
    {
        var root = new RootCommand("Registry integrity verifier: consumes registry events, walks manifests, stores verdicts.")
        {
            // Configuration overrides (--Registry:BaseUrl=...) reach the host as unmatched tokens.
            TreatUnmatchedTokensAsErrors = false,
        };
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(SweepCommands.CreateSweep());
        root.Subcommands.Add(SweepCommands.CreateBackfill());
        root.Subcommands.Add(ReplayCommands.CreateReplay());
        root.Subcommands.Add(ReplayCommands.CreateReplayErrors());
        root.Subcommands.Add(FsckCommand.Create());
        root.Subcommands.Add(RepairCommand.Create());
        root.Subcommands.Add(GcForecastCommand.Create());
        // No verb: the service, composed and built in the composition root.
        root.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () =>
            VerifierServiceExtensions.RunServiceAsync(parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration.Error, cancellationToken)));
        return root;
    }
}
