using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Storage;

namespace RegistryIntegrity.Verifier.Api;

public static class StatusApi
{
    /// <summary>How long <c>/v1/status</c> waits for the registry before calling it unreachable.</summary>
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapStatusApi(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup("/v1").AddEndpointFilter(ApiTokens.Require(ApiAccess.Read));
        v1.MapGet("/status", async (IVerdictStore store, ISweepStore sweeps, RegistryClient registry, TimeProvider time, CancellationToken cancellationToken) =>
        {
            var counts = await store.CountVerdictsAsync(cancellationToken);
            return Results.Ok(new
            {
                manifests = new { counts.Healthy, counts.Broken, counts.Indeterminate },
                counts.MissingObjects,
                counts.DanglingTags,
                // Verdicts kept while the registry could not be reached: not erased, but not re-proven since.
                stale = new { manifests = counts.Stale, since = counts.StaleSince },
                verdictRules = VerdictRulesText,
                registry = await PingAsync(registry, time, cancellationToken),
                lastCompletedSweep = await sweeps.GetLatestSweepAsync(completedOnly: true, cancellationToken),
                latestSweep = await sweeps.GetLatestSweepAsync(completedOnly: false, cancellationToken),
            });
        });
        v1.MapGet("/broken", async (IVerdictStore store, Repair.RepairHints hints, Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, CancellationToken cancellationToken) =>
        {
            // Broken manifests, then tags whose manifest is gone (same fields: repository, digest, tags, missing, reasons), each with a repairHint.
            IEnumerable<object> broken = await store.ListBrokenAsync(cancellationToken);
            return Results.Ok(await hints.AnnotateAsync(broken.Concat(await store.ListDanglingTagsAsync(cancellationToken)), json.Value.SerializerOptions, cancellationToken));
        });
        v1.MapGet("/manifests", async (string? repository, string? digest, IVerdictStore store, CancellationToken cancellationToken) =>
        {
            if (!ReferenceGrammar.IsRepository(repository) || !ReferenceGrammar.IsDigest(digest))
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest,
                    detail: "Query parameters 'repository' (a repository name) and 'digest' (sha256:<64 hex>) are required.");
            var manifest = await store.GetManifestAsync(repository!, digest!, cancellationToken);
            if (manifest is null)
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: "This manifest has never been verified.");
            var history = await store.GetHistoryAsync(repository!, digest!, 50, cancellationToken);
            return Results.Ok(new { manifest, history });
        });
        return routes;
    }

    /// <summary>What each registry answer leads to; the README's verdict table says the same.</summary>
    private static readonly string[] VerdictRulesText =
    [
        "broken: the registry (or the storage it redirected to) answered 404 for a manifest, child manifest, config or layer, a blob came without its bytes twice, or an object's size differs from its descriptor; a tag it lists but answers 404 for is broken too",
        "healthy: every object of the tree answered present in one walk",
        "indeterminate: unreachable, timeout, 401/403, 429, 5xx, an open circuit or an unreadable answer; a manifest never judged shows it as its verdict",
        "an indeterminate walk never replaces a healthy or broken verdict: it is kept as lastAttempt and the verdict is marked staleSince",
        "the newest registry state wins: a walk whose oldest answer predates the stored verdict or a deletion changes nothing",
    ];

    private static async Task<object> PingAsync(RegistryClient registry, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        var checkedAt = time.GetUtcNow();
        try
        {
            var probe = await registry.PingAsync(timeout.Token);
            return new { reachable = probe.Outcome == ProbeOutcome.Present, probe.StatusCode, probe.ErrorCode, probe.Reason, checkedAt };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new { reachable = false, StatusCode = (int?)null, ErrorCode = (string?)null, Reason = $"no answer within {PingTimeout.TotalSeconds} s", checkedAt };
        }
    }
}
