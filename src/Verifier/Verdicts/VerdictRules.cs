namespace RegistryIntegrity.Verifier.Verdicts;

/// <summary>What the store holds for one manifest: its verdict, the last attempt at one, and when it was seen or deleted.</summary>
/// <param name="Result">The verdict: <c>healthy</c> or <c>broken</c> once a walk reached the registry, <c>indeterminate</c> until then.</param>
/// <param name="CheckedAt">When the registry answers behind <paramref name="Result"/> were observed.</param>
/// <param name="AttemptAt">The latest walk, whatever it concluded; <paramref name="StaleSince"/> is set while walks since the verdict could not reach one.</param>
/// <param name="SeenAt">The latest observation of the manifest as present (walked as a root or as a child).</param>
public sealed record StoredVerdict(
    string? MediaType,
    string? Result,
    DateTimeOffset? CheckedAt,
    DateTimeOffset? Since,
    IReadOnlyList<MissingObject> Missing,
    IReadOnlyList<string> Reasons,
    DateTimeOffset? AttemptAt,
    string? AttemptResult,
    IReadOnlyList<string> AttemptReasons,
    DateTimeOffset? StaleSince,
    DateTimeOffset? SeenAt,
    DateTimeOffset? DeletedAt)
{
    public static readonly StoredVerdict None = new(null, null, null, null, [], [], null, null, [], null, null, null);

    public bool IsDeterminate => Result is Healthy or Broken;

    public const string Healthy = "healthy", Broken = "broken", Indeterminate = "indeterminate";
}

/// <summary>
/// How a walk changes a stored verdict. The rules, in order:
/// <list type="number">
/// <item>The newest registry state wins: every observation carries the time its oldest answer was asked
/// for; a walk older than the stored verdict, or older than a deletion, changes no verdict.</item>
/// <item>Only the registry saying "missing" makes a verdict broken, and only a walk that reached every
/// object makes it healthy. A walk that could not tell (unreachable, 401/403, 5xx, timeouts) is kept as
/// the last attempt beside the verdict and marks it stale; it never replaces a healthy or broken verdict.</item>
/// <item>A broken walk that also could not reach some objects keeps the objects the last verdict found
/// missing, unless this walk saw them present.</item>
/// <item>A manifest answered 404 at its own digest is deleted, unless it was seen present later; a
/// deleted manifest seen present again starts a new life with no verdict carried over.</item>
/// </list>
/// </summary>
public static class VerdictRules
{
    public static StoredVerdict ApplyWalk(StoredVerdict current, WalkResult walk, DateTimeOffset observedAt)
    {
        if (walk.RootMissing)
            return ApplyDeletion(current, observedAt);

        var rootSeen = walk.Manifests.ContainsKey(walk.Digest);
        if (current.DeletedAt is { } deletedAt && (!rootSeen || deletedAt > observedAt))
            return current; // deleted after this walk's answers were given: the walk is history
        var revived = current.DeletedAt is not null;
        var state = revived ? StoredVerdict.None with { MediaType = current.MediaType } : current;
        state = state with
        {
            MediaType = walk.MediaType ?? state.MediaType,
            SeenAt = rootSeen ? Later(state.SeenAt, observedAt) : state.SeenAt,
        };
        var attemptIsNewest = state.AttemptAt is not { } attemptAt || attemptAt <= observedAt;

        if (walk.Result == VerdictResult.Indeterminate)
        {
            if (!attemptIsNewest)
                return state;
            state = state with { AttemptAt = observedAt, AttemptResult = StoredVerdict.Indeterminate, AttemptReasons = walk.IndeterminateReasons };
            if (state.IsDeterminate)
                return state.CheckedAt <= observedAt ? state with { StaleSince = state.StaleSince ?? observedAt } : state;
            return state with
            {
                Since = state.Result == StoredVerdict.Indeterminate ? state.Since : observedAt,
                Result = StoredVerdict.Indeterminate,
                CheckedAt = observedAt,
                Missing = [],
                Reasons = walk.IndeterminateReasons,
            };
        }

        if (state.IsDeterminate && state.CheckedAt > observedAt)
            return state; // a later walk already reached the registry

        var result = walk.Result == VerdictResult.Broken ? StoredVerdict.Broken : StoredVerdict.Healthy;
        var missing = walk.Missing;
        if (walk.Result == VerdictResult.Broken && walk.IndeterminateReasons.Count > 0 && state.Result == StoredVerdict.Broken)
        {
            // Objects this walk could not reach may still be missing: keep what the last verdict proved.
            var known = walk.Missing.Select(m => m.Digest).Concat(walk.Present).ToHashSet(StringComparer.Ordinal);
            missing = [.. missing, .. state.Missing.Where(m => !known.Contains(m.Digest))];
        }
        return state with
        {
            Since = state.Result == result ? state.Since : observedAt,
            Result = result,
            CheckedAt = observedAt,
            Missing = missing,
            Reasons = walk.IndeterminateReasons,
            AttemptAt = attemptIsNewest ? observedAt : state.AttemptAt,
            AttemptResult = attemptIsNewest ? result : state.AttemptResult,
            AttemptReasons = attemptIsNewest ? walk.IndeterminateReasons : state.AttemptReasons,
            StaleSince = attemptIsNewest || state.AttemptResult != StoredVerdict.Indeterminate ? null : state.StaleSince ?? state.AttemptAt,
        };
    }

    /// <summary>The registry said the manifest is gone (a delete event, or a 404 at its digest) at <paramref name="observedAt"/>.</summary>
    public static StoredVerdict ApplyDeletion(StoredVerdict current, DateTimeOffset observedAt)
    {
        if (current.DeletedAt is not null || current.SeenAt > observedAt)
            return current;
        return current with { DeletedAt = observedAt };
    }

    private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset b) => a is { } value && value > b ? value : b;
}
