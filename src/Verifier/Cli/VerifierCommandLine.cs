using System.CommandLine;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>The Verifier's command line: no verb runs the service; verbs (<c>check</c>, <c>sweep</c>, <c>backfill</c>, <c>replay</c>, <c>replay-errors</c>) run once and exit.</summary>
public static class VerifierCommandLine
{
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
        root.SetAction(async (parse, cancellationToken) =>
        {
            var builder = WebApplication.CreateBuilder(parse.UnmatchedTokens.ToArray());
            builder.AddVerifierServices();
            var app = builder.Build();
            app.MapVerifierEndpoints();
            await app.RunAsync(cancellationToken);
            return 0;
        });
        return root;
    }
}
