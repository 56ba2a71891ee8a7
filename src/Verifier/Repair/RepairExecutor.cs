using System.Text.Json;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>
/// Repairs one broken manifest: walks it, reads the missing manifests from the sources to learn what lies under
/// them, plans (<see cref="RepairPlanner"/>), finds each object in the sources by digest, copies it (unless a dry
/// run), then walks again through the verification service, which stores the new verdict.
/// </summary>
public sealed class RepairExecutor(
    ManifestWalker walker, RegistryClient registry, VerificationService verification, SourceRegistries sources, ObjectCopier copier,
    RepairMetrics metrics, ILoggerFactory logs)
{
    private readonly ILogger _audit = logs.CreateLogger("RegistryIntegrity.Verifier.Repair.Audit");

    private sealed record Located(SourceRegistry Source, string Repository, byte[]? Body = null, string? MediaType = null);

    public async Task<RepairReport> RepairAsync(RepairTarget target, bool apply, Action<string>? progress, CancellationToken cancellationToken)
    {
        var repository = target.Repository;
        var walk = await walker.WalkAsync(repository, target.Digest, cancellationToken);
        var report = new RepairReport { Repository = repository, Digest = target.Digest, Tag = target.Tag, Result = RepairResults.NothingToDo, Applied = apply };
        if (walk.Result == VerdictResult.Healthy)
            return Count(apply ? report with { Result = (await RewalkAsync(target, cancellationToken)).Result == VerdictResult.Healthy ? RepairResults.NothingToDo : RepairResults.Indeterminate } : report);
        if (walk.Missing.Count == 0)
            return Count(report with { Result = RepairResults.Indeterminate, IndeterminateReasons = walk.IndeterminateReasons });

        // Learn the graph under the missing manifests (from the sources) and what the registry holds of it.
        var documents = new Dictionary<string, ManifestDocument>(StringComparer.Ordinal);
        var present = new HashSet<string>(walk.Present, StringComparer.Ordinal);
        var absent = new HashSet<string>(StringComparer.Ordinal);
        var unavailable = new HashSet<string>(StringComparer.Ordinal);
        var located = new Dictionary<string, Located>(StringComparer.Ordinal);
        var whyNot = new Dictionary<string, string>(StringComparer.Ordinal);
        RepairPlan plan;
        for (var round = 0; ; round++)
        {
            plan = RepairPlanner.Plan(new RepairGraph(walk, documents, present, absent, unavailable));
            if (plan.Complete || round > ManifestWalker.MaxDepth + 1)
                break;
            foreach (var digest in plan.NeedDocuments)
            {
                var (found, reasons) = await FindManifestAsync(repository, digest, cancellationToken);
                if (found is null)
                {
                    unavailable.Add(digest);
                    whyNot[digest] = reasons;
                    continue;
                }
                try
                {
                    documents[digest] = ManifestDocument.Parse(found.Body!, found.MediaType);
                    located[digest] = found;
                }
                catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                {
                    unavailable.Add(digest);
                    whyNot[digest] = $"{found.Source.Name} serves it, but it cannot be parsed ({e.Message})";
                }
            }
            foreach (var probe in plan.NeedProbes)
            {
                var answer = probe.Kind == RepairObjectKind.Manifest
                    ? (await registry.GetManifestAsync(repository, probe.Digest, cancellationToken)).Probe
                    : await registry.CheckBlobAsync(repository, probe.Digest, probe.Size, cancellationToken);
                // Copying by digest is idempotent, so an object the registry could not be asked about is copied too.
                (answer.Outcome == ProbeOutcome.Present ? present : absent).Add(probe.Digest);
            }
        }

        foreach (var step in plan.Steps.Where(s => s.Kind == RepairObjectKind.Blob))
        {
            var (found, reasons) = await FindBlobAsync(repository, step, cancellationToken);
            if (found is null)
                whyNot[step.Digest] = reasons;
            else
                located[step.Digest] = found;
        }

        var actions = new List<RepairAction>();
        var position = 0;
        foreach (var step in plan.Steps)
        {
            position++;
            if (!located.TryGetValue(step.Digest, out var from))
            {
                actions.Add(Action(step, "no-source", reason: whyNot.GetValueOrDefault(step.Digest, "no source is configured")));
                continue;
            }
            if (!apply)
            {
                actions.Add(Action(step, "planned", from));
                continue;
            }
            progress?.Invoke($"{repository}@{Short(target.Digest)}: copying {position}/{plan.Steps.Count} {step.Role} {Short(step.Digest)} from {from.Source.Name}");
            var outcome = step.Kind == RepairObjectKind.Manifest
                ? await copier.PutManifestAsync(repository, step.Digest, from.Body!, from.MediaType!, cancellationToken)
                : await CopyBlobFromAnyAsync(repository, step, from, cancellationToken);
            if (outcome.Copied)
            {
                metrics.CountCopy(step.Kind, outcome.Bytes);
                _audit.LogInformation(
                    "repair audit: copied {Role} {Digest} ({Bytes} bytes) into {Repository} from {Source} {SourceRepository} for {Root}",
                    step.Role, step.Digest, outcome.Bytes, repository, from.Source.Name, from.Repository, target.Digest);
                actions.Add(Action(step, "copied", from, outcome.Bytes));
            }
            else
            {
                whyNot[step.Digest] = outcome.Problem!;
                actions.Add(Action(step, "failed", from, reason: outcome.Problem));
            }
        }

        var notCopyable = plan.NotCopyable.Select(n => new StillMissing(n.Object.Kind, n.Object.Digest, n.Object.Path, n.Reason)).ToList();
        if (!apply)
        {
            var complete = notCopyable.Count == 0 && actions.All(a => a.Status == "planned");
            var missing = actions.Where(a => a.Status != "planned").Select(a => new StillMissing(a.Role, a.Digest, a.Parent is null ? [] : [a.Parent], a.Reason!));
            return Count(report with
            {
                Result = complete ? RepairResults.Repairable : RepairResults.NotRepairable,
                Actions = actions,
                StillMissing = [.. notCopyable, .. missing],
            });
        }

        var after = await RewalkAsync(target, cancellationToken);
        var still = after.Missing.Select(m => new StillMissing(m.Kind, m.Digest, m.Path, Why(m, whyNot, unavailable, actions))).ToList();
        return Count(report with
        {
            Result = after.Result switch
            {
                VerdictResult.Healthy => RepairResults.Repaired,
                VerdictResult.Broken => RepairResults.StillBroken,
                _ => RepairResults.Indeterminate,
            },
            Actions = actions,
            StillMissing = still,
            IndeterminateReasons = after.IndeterminateReasons,
        });
    }

    /// <summary>The verification path: walks and stores the verdict; with the tag when it resolves to this digest again.</summary>
    private async Task<WalkResult> RewalkAsync(RepairTarget target, CancellationToken cancellationToken)
    {
        string? tag = null;
        if (target.Tag is { } name && (await registry.ResolveTagAsync(target.Repository, name, cancellationToken)).Digest == target.Digest)
            tag = name;
        return await verification.VerifyAsync(target.Repository, target.Digest, tag, processedEvent: null, cancellationToken);
    }

    private static string Why(MissingObject missing, Dictionary<string, string> whyNot, HashSet<string> unavailable, List<RepairAction> actions)
    {
        if (whyNot.TryGetValue(missing.Digest, out var reason))
            return reason;
        if (missing.Path.FirstOrDefault(unavailable.Contains) is { } parent)
            return $"under {parent}, which no source has";
        if (missing.ErrorCode == RegistryClient.SizeMismatch)
            return "the registry serves this digest with a size other than the descriptor's; a copy cannot replace it";
        return actions.Any(a => a.Digest == missing.Digest && a.Status == "copied")
            ? "copied, but the registry still does not serve it"
            : "not in the plan (it went missing during the repair?): run the repair again";
    }

    private async Task<(Located? Found, string Reasons)> FindManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        var reasons = new List<string>();
        foreach (var source in sources.All)
        {
            var there = source.Source.MapRepository(repository);
            var answer = await source.Client.GetManifestAsync(there, digest, cancellationToken);
            if (answer.Probe.Outcome == ProbeOutcome.Present && answer.DigestVerified && answer.MediaType is not null)
                return (new Located(source, there, answer.Body, answer.MediaType), "");
            reasons.Add($"{source.Name} ({there}): {Describe(answer.Probe, answer.Probe.Outcome == ProbeOutcome.Present ? "its bytes cannot be checked against the digest" : null)}");
        }
        return (null, reasons.Count == 0 ? "no source is configured (Repair:Sources)" : "no source has it: " + string.Join("; ", reasons));
    }

    private async Task<(Located? Found, string Reasons)> FindBlobAsync(string repository, RepairStep blob, CancellationToken cancellationToken)
    {
        var reasons = new List<string>();
        foreach (var source in sources.All)
        {
            var there = source.Source.MapRepository(repository);
            var answer = await source.Client.CheckBlobAsync(there, blob.Digest, blob.Size, cancellationToken);
            if (answer.Outcome == ProbeOutcome.Present)
                return (new Located(source, there), "");
            reasons.Add($"{source.Name} ({there}): {Describe(answer, null)}");
        }
        return (null, reasons.Count == 0 ? "no source is configured (Repair:Sources)" : "no source has it: " + string.Join("; ", reasons));
    }

    /// <summary>Copies from the source that answered first; if its bytes turn out wrong or gone, from the next that has them.</summary>
    private async Task<CopyOutcome> CopyBlobFromAnyAsync(string repository, RepairStep blob, Located first, CancellationToken cancellationToken)
    {
        var outcome = await copier.CopyBlobAsync(first.Source, first.Repository, repository, blob.Digest, blob.Size, cancellationToken);
        foreach (var source in sources.All.Where(s => s != first.Source))
        {
            if (outcome.Copied)
                break;
            var next = await copier.CopyBlobAsync(source, source.Source.MapRepository(repository), repository, blob.Digest, blob.Size, cancellationToken);
            outcome = next.Copied ? next : outcome with { Problem = $"{outcome.Problem}; {next.Problem}" };
        }
        return outcome;
    }

    private static string Describe(ProbeResult probe, string? overrideReason) =>
        overrideReason ?? (probe.Outcome == ProbeOutcome.Missing ? "not found" : probe.Reason ?? "could not tell")
        + (probe.StatusCode is { } code ? $" ({code}{(probe.ErrorCode is { } error ? $" {error}" : "")})" : "");

    private static RepairAction Action(RepairStep step, string status, Located? from = null, long? bytes = null, string? reason = null) =>
        new(step.Kind == RepairObjectKind.Blob ? "blob" : "manifest", step.Role, step.Digest, step.Size, step.Parent, status,
            from?.Source.Name, from?.Repository, bytes, reason);

    private RepairReport Count(RepairReport report)
    {
        metrics.CountRepair(report.Result);
        return report;
    }

    private static string Short(string digest) => digest.Length > 19 ? digest[..19] : digest;
}
