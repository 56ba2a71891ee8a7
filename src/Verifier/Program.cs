using System.CommandLine;
using RegistryIntegrity.Verifier;
using RegistryIntegrity.Verifier.Cli;

// With no verb the Verifier runs as a service; verbs (check, ...) run once and exit.
var root = new RootCommand("Registry integrity verifier: consumes registry events, walks manifests, stores verdicts.")
{
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
return await root.Parse(args).InvokeAsync();

public partial class Program;
