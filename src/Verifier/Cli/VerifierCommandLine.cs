using System.CommandLine;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts.Settings;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>The Verifier's command line: no verb runs the service; verbs (<c>check</c>, <c>sweep</c>, <c>backfill</c>, <c>replay</c>, <c>replay-errors</c>) run once and exit.</summary>
public static class VerifierCommandLine
{
    /// <summary>Parses and runs; a usage error (unknown option, missing argument) exits 64 like any other bad argument.</summary>
    public static async Task<int> InvokeAsync(string[] args, InvocationConfiguration? console = null)
    {
        console ??= new InvocationConfiguration();
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
        root.Subcommands.Add(Forecast.GcForecastCommand.Create());
        root.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, async () =>
        {
            // The content root is the application's folder, so appsettings.json applies wherever the process is started.
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = parse.UnmatchedTokens.ToArray(), ContentRootPath = AppContext.BaseDirectory });
            builder.AddVerifierServices(parse.InvocationConfiguration.Error);
            var app = builder.Build();
            app.MapVerifierEndpoints();
            try
            {
                await app.RunAsync(cancellationToken);
            }
            catch (OptionsValidationException e)
            {
                throw new SettingsException(e.Failures.ToList());
            }
            return 0;
        }));
        return root;
    }
}
