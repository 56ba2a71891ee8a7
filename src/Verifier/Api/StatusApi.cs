using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.RegistryStorageWatchers;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Api;

public static class StatusApi
{
    /// <summary>How long <c>/v1/status</c> waits for the registry before calling it unreachable.</summary>
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapStatusApi(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup("/v1").AddEndpointFilter(ApiTokens.Require(ApiAccess.Read));
        v1.MapGet("/status", async (IVerdictStore store, ISweepStore sweeps, RegistryClient registry, HeardStorageWatchers watchers, TimeProvider time,
            CancellationToken cancellationToken) =>
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
                // Whether removals on the registry's storage are being heard (watchers heard within a day; none = no watcher).
                storageWatchers = await watchers.ListAsync(cancellationToken),
            });
        });
        // Broken manifests in (repository, digest) order, then tags whose manifest is gone (same fields:
        // repository, digest, tags, missing, reasons) in (repository, tag) order, each with a repairHint.
        v1.MapGet("/broken", async (string? limit, string? cursor, HttpContext context, IVerdictStore store, IBrokenListAnnotator hints,
            Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, Microsoft.Extensions.Options.IOptions<ApiOptions> api,
            CancellationToken cancellationToken) =>
            await ListBrokenAsync(limit, cursor, context, store, cancellationToken) is var (page, problem) && problem is null
                ? Results.Ok(await hints.AnnotateAsync(page, json.Value.SerializerOptions, cancellationToken, api.Value.BrokenRunbookUrl))
                : problem);
        v1.MapGet("/manifests", async (string? repository, string? digest, string? tag, string? limit, string? cursor,
            HttpContext context, IVerdictStore store, CancellationToken cancellationToken) =>
        {
            if (!ReferenceGrammar.IsRepository(repository)
                || (digest is not null && !ReferenceGrammar.IsDigest(digest)) || (tag is not null && !ReferenceGrammar.IsTag(tag))
                || (digest is not null && tag is not null))
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest,
                    detail: "Query parameter 'repository' (a repository name) is required, with at most one of 'digest' (sha256:<64 hex>) or 'tag'; with neither, the repository's manifests are listed.");
            if (digest is null && tag is null)
                return await ListManifestsAsync(repository!, limit, cursor, context, store, cancellationToken);
            if (tag is not null && (digest = await store.ResolveTagAsync(repository!, tag, cancellationToken)) is null)
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"The store knows no tag '{tag}' in {repository}.");
            var manifest = await store.GetManifestAsync(repository!, digest!, cancellationToken);
            if (manifest is null)
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: "This manifest has never been verified.");
            var history = await store.GetHistoryAsync(repository!, digest!, 50, cancellationToken);
            return Results.Ok(new { manifest, history });
        });
        return routes;
    }

    private const string BrokenSection = "m", DanglingSection = "t", ManifestSection = "d";

    private static async Task<(List<object> Page, IResult? Problem)> ListBrokenAsync(
        string? limit, string? cursor, HttpContext context, IVerdictStore store, CancellationToken cancellationToken)
    {
        var (pageSize, badLimit) = Paging.ParseLimit(limit);
        var (section, after, badCursor) = Paging.Decode(cursor, BrokenSection, DanglingSection);
        if ((badLimit ?? badCursor) is { } problem)
            return ([], problem);
        var page = new List<object>();
        if (section is null or BrokenSection)
        {
            var broken = await store.ListBrokenAsync(after, pageSize + 1, cancellationToken);
            page.AddRange(broken.Take(pageSize));
            if (broken.Count > pageSize)
            {
                Paging.LinkNext(context, pageSize, Paging.Encode(BrokenSection, new PageKey(broken[pageSize - 1].Repository, broken[pageSize - 1].Digest)));
                return (page, null);
            }
            after = null;
        }
        var room = pageSize - page.Count;
        var dangling = await store.ListDanglingTagsAsync(after, room + 1, cancellationToken);
        page.AddRange(dangling.Take(room));
        if (dangling.Count > room)
            Paging.LinkNext(context, pageSize, room == 0
                // A page filled by broken manifests alone: the next one starts after its last, where the tags begin.
                ? Paging.Encode(BrokenSection, new PageKey(((ManifestVerdict)page[^1]).Repository, ((ManifestVerdict)page[^1]).Digest))
                : Paging.Encode(DanglingSection, new PageKey(dangling[room - 1].Repository, dangling[room - 1].Tag)));
        return (page, null);
    }

    private static async Task<IResult> ListManifestsAsync(
        string repository, string? limit, string? cursor, HttpContext context, IVerdictStore store, CancellationToken cancellationToken)
    {
        var (pageSize, badLimit) = Paging.ParseLimit(limit);
        var (_, after, badCursor) = Paging.Decode(cursor, ManifestSection);
        if ((badLimit ?? badCursor) is { } problem)
            return problem;
        if (after is not null && after.Repository != repository)
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "Query parameter 'cursor' belongs to another repository's list.");
        var manifests = await store.ListManifestsAsync(repository, after?.Name, pageSize + 1, cancellationToken);
        if (manifests.Count > pageSize)
            Paging.LinkNext(context, pageSize, Paging.Encode(ManifestSection, new PageKey(repository, manifests[pageSize - 1].Digest)));
        return Results.Ok(manifests.Take(pageSize));
    }

    /// <summary>What each registry answer leads to; the README's verdict table says the same.</summary>
    private static readonly string[] VerdictRulesText =
    [
        "broken: the registry (or the storage it redirected to) answered 404 for a manifest, child manifest, config or layer, a blob came without its bytes twice, or an object's size differs from its descriptor; a tag it lists but answers 404 for is broken too",
        "healthy: every object of the tree answered present in one walk",
        "indeterminate: unreachable, timeout, 401/403, 429, 5xx, a 2xx other than 200/206, an open circuit or an unreadable answer; a manifest never judged shows it as its verdict",
        "an indeterminate walk never replaces a healthy or broken verdict: it is kept as lastAttempt and the verdict is marked staleSince",
        "the newest registry state wins: a walk whose oldest answer predates the stored verdict or a deletion changes nothing",
        "a walk whose answers straddle a moment the registry was seen down is walked again with fresh answers: answers from before a stop (an offline garbage collection) may not hold after it",
        "a tag's events apply in the registry's order: a push or tag listing older than the tag's deletion does not bring it back, a deletion older than its last push does not remove it",
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
