using System.CommandLine;
using System.Text.Json;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>check &lt;registry&gt;/&lt;repository&gt;(:tag|@digest)</c>: walks one image now and exits 0 healthy,
/// 1 broken, 2 indeterminate, 3 not found (64 for a bad argument or setting). Made to replace a CI
/// "verify-integrity" step: stdout carries only the result (with <c>--json</c>, exactly one JSON
/// document, whatever the outcome); logs go to stderr, and only with <c>-v</c>.
/// </summary>
internal static class CheckCommand
{
    public const int Healthy = 0, Broken = 1, Indeterminate = 2, NotFound = 3, BadArgument = 64;

    public static Command Create()
    {
        var reference = new Argument<string>("reference")
        {
            Description = "[http(s)://][<registry>/]<repository>[:<tag>][@<digest>], e.g. 127.0.0.1:5000/team/app:v1; without a registry, Docker Hub",
        };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON document (also for not found, unreachable and usage errors)." };
        var plainHttp = new Option<bool>("--plain-http") { Description = "Talk to the registry over http:// instead of https:// (the default for a loopback registry)." };
        var insecure = new Option<bool>("--insecure") { Description = "Do not verify the TLS certificate of the registry and its token realm." };
        var retries = new Option<int>("--retries")
        {
            Description = "Retry a failed request this many times (default 0: an unreachable registry ends the check after one attempt).",
            DefaultValueFactory = _ => 0,
        };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log requests and retries to stderr." };
        var username = new Option<string?>("--username", "-u") { Description = "Registry user; the password comes from stdin (--password-stdin). Without it: the docker config's credentials for this registry, else anonymous." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password for --username from stdin." };
        var caFile = new Option<string?>("--ca-file") { Description = "PEM bundle of the CAs to trust for the registry and its token realm." };
        var command = new Command("check", "Walk one image now and print its verdict. Configuration overrides such as --Registry:Username=ci are accepted.")
        {
            reference, json, plainHttp, insecure, retries, verbose, username, passwordStdin, caFile,
        };
        // Configuration overrides arrive as unmatched tokens; anything else unknown is still an error (see RunAsync).
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new CheckOptions(parse.GetValue(reference)!, parse.GetValue(json), parse.GetValue(plainHttp), parse.GetValue(retries), parse.GetValue(verbose))
            {
                Username = parse.GetValue(username), PasswordStdin = parse.GetValue(passwordStdin), CaFile = parse.GetValue(caFile),
                Insecure = parse.GetValue(insecure),
            };
            var console = new CheckOutput(options, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            try
            {
                return await RunAsync(options, parse.UnmatchedTokens.ToArray(), console, cancellationToken);
            }
            catch (SettingsException e)
            {
                return await console.UsageErrorAsync(e.Problems);
            }
        });
        return command;
    }

    /// <summary>Where <c>--password-stdin</c> reads from: the process's stdin unless the caller gave another.</summary>
    internal static readonly AsyncLocal<TextReader?> Input = new();

    private static async Task<int> RunAsync(CheckOptions options, string[] configArgs, CheckOutput console, CancellationToken cancellationToken)
    {
        if (configArgs.FirstOrDefault(a => !(a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal))) is { } unknown)
            return await console.UsageErrorAsync([$"unknown argument '{unknown}' (configuration overrides look like --Registry:Username=ci)"]);
        if (options.Retries is < 0 or > 10)
            return await console.UsageErrorAsync(["--retries is a number from 0 to 10"]);
        if (!ImageReference.TryParse(options.Reference, out var image, out var problem))
            return await console.UsageErrorAsync([problem]);
        if (options.PlainHttp && image!.PlainHttp == false)
            return await console.UsageErrorAsync(["--plain-http contradicts the reference's https:// prefix"]);

        var (login, loginProblem) = await RegistryLogins.FindAsync(
            image!.Registry, options.Username, options.PasswordStdin, Input.Value ?? Console.In, dockerConfigDirectory: null, cancellationToken);
        if (loginProblem is not null)
            return await console.UsageErrorAsync([loginProblem]);
        using var host = CommandLineHost.Build(
            configArgs, image.Registry, image.UsesPlainHttp(options.PlainHttp), console.Error, options.Verbose, options.Retries, login, options.CaFile, options.Insecure);
        var registry = host.Services.GetRequiredService<RegistryClient>();
        var walker = host.Services.GetRequiredService<ManifestWalker>();
        var isTag = !image.Reference.Contains(':', StringComparison.Ordinal);
        var report = new CheckReport { Reference = options.Reference, Repository = image.Repository, Tag = isTag ? image.Reference : null };

        var digest = image.Reference;
        if (isTag)
        {
            var (resolved, probe) = await registry.ResolveTagAsync(image.Repository, image.Reference, cancellationToken);
            if (resolved is null)
                return await console.ReportAsync(probe.Outcome == ProbeOutcome.Missing
                    ? await ClassifyMissingTagAsync(registry, report, probe, cancellationToken)
                    : report with { Result = "indeterminate", Reason = $"{probe.Reason}{Codes(probe.StatusCode, probe.ErrorCode)}" });
            digest = resolved;
        }

        var walk = await walker.WalkAsync(image.Repository, digest, cancellationToken);
        report = report with
        {
            Digest = digest,
            MediaType = walk.MediaType,
            Manifests = walk.Manifests,
            Missing = walk.Missing,
            IndeterminateReasons = walk.IndeterminateReasons,
        };
        if (walk.RootMissing)
        {
            // A digest nobody pushed is a typo; a tag that resolved a moment ago and whose manifest is gone is broken.
            var root = walk.Missing.First(m => m.Path.Count == 0);
            return await console.ReportAsync(isTag
                ? report with
                {
                    Result = "broken", Reason = $"the tag points to a missing manifest{Codes(root.StatusCode, root.ErrorCode)}",
                    RepairHint = await ActivatorUtilities.CreateInstance<Repair.RepairHints>(host.Services).ForAsync(image.Repository, digest, report.Tag, walk.Missing, cancellationToken),
                }
                : report with { Result = "not-found", Reason = $"the manifest does not exist{Codes(root.StatusCode, root.ErrorCode)}" });
        }
        if (walk.Result == VerdictResult.Broken)
            report = report with { RepairHint = await ActivatorUtilities.CreateInstance<Repair.RepairHints>(host.Services).ForAsync(image.Repository, digest, report.Tag, walk.Missing, cancellationToken) };
        return await console.ReportAsync(report with
        {
            Result = walk.Result switch
            {
                VerdictResult.Healthy => "healthy",
                VerdictResult.Broken => "broken",
                _ => "indeterminate",
            },
            Reason = walk.Result == VerdictResult.Indeterminate ? string.Join("; ", walk.IndeterminateReasons) : null,
        });
    }

    /// <summary>
    /// The registry answered 404 for the tag. If <c>tags/list</c> still lists it, the tag dangles (its manifest
    /// is gone: <c>docker pull</c> fails): broken. If not, the tag does not exist: not found.
    /// </summary>
    private static async Task<CheckReport> ClassifyMissingTagAsync(RegistryClient registry, CheckReport report, ProbeResult probe, CancellationToken cancellationToken)
    {
        string? next = null;
        for (var page = 0; page < 100; page++)
        {
            var tags = await registry.ListTagsAsync(report.Repository!, next, cancellationToken);
            if (tags.Probe.Outcome != ProbeOutcome.Present)
                return report with
                {
                    Result = "not-found",
                    Reason = $"the tag does not exist{Codes(probe.StatusCode, probe.ErrorCode)}" +
                             (tags.Probe.Outcome == ProbeOutcome.Missing ? "; the repository does not exist either" : $"; the tag list could not be read: {tags.Probe.Reason}"),
                };
            if (tags.Names.Contains(report.Tag!, StringComparer.Ordinal))
                return report with { Result = "broken", Reason = $"the tag is listed but points to a missing manifest{Codes(probe.StatusCode, probe.ErrorCode)}" };
            if ((next = tags.Next) is null)
                break;
        }
        return report with { Result = "not-found", Reason = $"the tag does not exist{Codes(probe.StatusCode, probe.ErrorCode)}" };
    }

    /// <summary>" (404 MANIFEST_UNKNOWN)", " (404)", or nothing: never an empty code.</summary>
    internal static string Codes(int? statusCode, string? errorCode)
    {
        var parts = new[] { statusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture), errorCode }.Where(p => !string.IsNullOrEmpty(p)).ToList();
        return parts.Count == 0 ? "" : $" ({string.Join(' ', parts)})";
    }

    internal static int ExitCode(string result) => result switch
    {
        "healthy" => Healthy,
        "broken" => Broken,
        "not-found" => NotFound,
        "usage-error" => BadArgument,
        _ => Indeterminate,
    };
}

internal sealed record CheckOptions(string Reference, bool Json, bool PlainHttp, int Retries, bool Verbose)
{
    public string? Username { get; init; }

    public bool PasswordStdin { get; init; }

    public string? CaFile { get; init; }

    public bool Insecure { get; init; }
}

/// <summary>The <c>--json</c> document (schema in the README); the text form is made from the same fields.</summary>
internal sealed record CheckReport
{
    public string Result { get; init; } = "indeterminate";
    public int ExitCode => CheckCommand.ExitCode(Result);
    public string? Reason { get; init; }
    public string? Reference { get; init; }
    public string? Repository { get; init; }
    public string? Tag { get; init; }
    public string? Digest { get; init; }
    public string? MediaType { get; init; }
    public IReadOnlyDictionary<string, string?> Manifests { get; init; } = new Dictionary<string, string?>();
    public IReadOnlyList<MissingObject> Missing { get; init; } = [];
    public IReadOnlyList<string> IndeterminateReasons { get; init; } = [];
    public Repair.RepairHint? RepairHint { get; init; }

    /// <summary>What to try when the TLS handshake failed.</summary>
    public string? Hint { get; init; }
}

/// <summary>Where the result goes: stdout (text or one JSON document); problems with the invocation also to stderr.</summary>
internal sealed class CheckOutput(CheckOptions options, TextWriter output, TextWriter error)
{
    public TextWriter Error => error;

    public async Task<int> UsageErrorAsync(IReadOnlyList<string> problems)
    {
        foreach (var problem in problems)
            await error.WriteLineAsync($"check: {problem}");
        if (options.Json)
            await output.WriteLineAsync(JsonSerializer.Serialize(new CheckReport { Result = "usage-error", Reason = string.Join("; ", problems), Reference = options.Reference }, CommandLineHost.Json));
        return CheckCommand.BadArgument;
    }

    /// <summary>Printed after a failed TLS handshake's reason.</summary>
    internal const string TlsHint =
        "try --plain-http if the registry speaks plain HTTP, --insecure to skip certificate verification, or --ca-file <pem> to trust its CA";

    public async Task<int> ReportAsync(CheckReport report)
    {
        if (report.Result == "indeterminate" && new[] { report.Reason }.Concat(report.IndeterminateReasons)
                .Any(r => r?.Contains(RegistryClient.TlsFailure, StringComparison.Ordinal) == true))
            report = report with { Hint = TlsHint };
        await output.WriteLineAsync(options.Json ? JsonSerializer.Serialize(report, CommandLineHost.Json) : Describe(report));
        return report.ExitCode;
    }

    private static string Describe(CheckReport report)
    {
        var subject = report.Digest is null ? $"{report.Repository}:{report.Tag}" : $"{report.Repository}@{report.Digest}";
        var lines = new List<string>();
        var result = report.Result.Replace('-', ' ').ToUpperInvariant();
        if (report.Manifests.Count > 0)
            lines.Add($"{result} {subject} ({report.MediaType ?? "unknown media type"}, {report.Manifests.Count} manifest(s))");
        else
            lines.Add($"{result} {subject}");
        if (report.Reason is not null && report.Result != "indeterminate")
            lines.Add($"  {report.Reason}");
        lines.AddRange(report.Missing.Where(m => m.Path.Count > 0).Select(m =>
            $"  missing {m.Kind} {m.Digest}{CheckCommand.Codes(m.StatusCode, m.ErrorCode)} via {string.Join(" > ", m.Path)}"));
        // A failed handshake is said in one line: the inner reason and what to try.
        var hinted = false;
        string WithHint(string reason)
        {
            if (report.Hint is null || hinted || !reason.Contains(RegistryClient.TlsFailure, StringComparison.Ordinal))
                return reason;
            hinted = true;
            return $"{reason.TrimEnd('.')}; {report.Hint}";
        }
        lines.AddRange(report.IndeterminateReasons.Select(r => $"  could not tell: {WithHint(r)}"));
        if (report.RepairHint is { } hint)
            lines.Add($"  to fix: {hint.Summary}");
        if (report.Result == "indeterminate" && report.IndeterminateReasons.Count == 0 && report.Reason is not null)
            lines.Add($"  could not tell: {WithHint(report.Reason)}");
        return string.Join(Environment.NewLine, lines);
    }
}
