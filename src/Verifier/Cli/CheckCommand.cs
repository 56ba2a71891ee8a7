using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>check &lt;registry&gt;/&lt;repository&gt;(:tag|@digest)</c>: walks one image now and exits 0 healthy,
/// 1 broken, 2 indeterminate (64 for a bad argument). Made to replace a CI "verify-integrity" step.
/// </summary>
internal static class CheckCommand
{
    public const int Healthy = 0, Broken = 1, Indeterminate = 2, BadArgument = 64;

    public static Command Create()
    {
        var reference = new Argument<string>("reference") { Description = "<registry>/<repository>(:<tag>|@<digest>), e.g. 127.0.0.1:5000/team/app:v1" };
        var json = new Option<bool>("--json") { Description = "Print the verdict as JSON." };
        var plainHttp = new Option<bool>("--plain-http") { Description = "Talk to the registry over http:// instead of https://." };
        var command = new Command("check", "Walk one image now and print its verdict. Configuration overrides such as --Registry:Username=ci are accepted.")
        {
            reference, json, plainHttp,
        };
        // Configuration overrides arrive as unmatched tokens; anything else unknown is still an error (see RunAsync).
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () =>
            RunAsync(parse.GetValue(reference)!, parse.GetValue(json), parse.GetValue(plainHttp), parse.UnmatchedTokens.ToArray(),
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(
        string value, bool json, bool plainHttp, string[] configArgs, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (configArgs.FirstOrDefault(a => !(a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal))) is { } unknown)
        {
            await error.WriteLineAsync($"check: unknown argument '{unknown}' (configuration overrides look like --Registry:Username=ci)");
            return BadArgument;
        }
        if (!ImageReference.TryParse(value, out var image, out var problem))
        {
            await error.WriteLineAsync($"check: {problem}");
            return BadArgument;
        }
        using var host = CommandLineHost.Build(configArgs, image!.Registry, plainHttp, error);
        RegistryClient registry;
        ManifestWalker walker;
        try
        {
            registry = host.Services.GetRequiredService<RegistryClient>();
            walker = host.Services.GetRequiredService<ManifestWalker>();
        }
        catch (OptionsValidationException e)
        {
            await error.WriteLineAsync($"check: invalid configuration: {string.Join("; ", e.Failures)}");
            return BadArgument;
        }

        var digest = image.Reference;
        if (!digest.Contains(':', StringComparison.Ordinal))
        {
            var (resolved, probe) = await registry.ResolveTagAsync(image.Repository, image.Reference, cancellationToken);
            if (resolved is null)
            {
                var missing = probe.Outcome == ProbeOutcome.Missing;
                await output.WriteLineAsync(missing
                    ? $"BROKEN {image.Repository}:{image.Reference}: the tag does not exist ({probe.StatusCode} {probe.ErrorCode})"
                    : $"INDETERMINATE {image.Repository}:{image.Reference}: {probe.Reason} ({probe.StatusCode} {probe.ErrorCode})");
                return missing ? Broken : Indeterminate;
            }
            digest = resolved;
        }

        var walk = await walker.WalkAsync(image.Repository, digest, cancellationToken);
        await output.WriteLineAsync(json
            ? JsonSerializer.Serialize(walk, CommandLineHost.Json)
            : VerdictText.Describe(walk));
        return walk.Result switch
        {
            VerdictResult.Healthy => Healthy,
            VerdictResult.Broken => Broken,
            _ => Indeterminate,
        };
    }
}

internal static class VerdictText
{
    public static string Describe(WalkResult walk)
    {
        var lines = new List<string> { $"{walk.Result.ToString().ToUpperInvariant()} {walk.Repository}@{walk.Digest} ({walk.MediaType ?? "unknown media type"}, {walk.Manifests.Count} manifest(s))" };
        lines.AddRange(walk.Missing.Select(m =>
            $"  missing {m.Kind} {m.Digest} ({m.StatusCode} {m.ErrorCode}){(m.Path.Count > 0 ? $" via {string.Join(" > ", m.Path)}" : "")}"));
        lines.AddRange(walk.IndeterminateReasons.Select(r => $"  could not tell: {r}"));
        return string.Join(Environment.NewLine, lines);
    }
}
