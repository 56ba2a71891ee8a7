namespace RegistryIntegrity.Verifier.Verdicts;

/// <summary>Live manifests by verdict, and the objects missing from the broken ones.</summary>
/// <param name="Broken">Broken manifests, plus tags that point to a missing manifest (<see cref="DanglingTags"/>).</param>
/// <param name="Indeterminate">Manifests whose latest walk could not reach a verdict: never judged, or <see cref="Stale"/>.</param>
/// <param name="MissingObjects">Objects missing from broken manifests, plus the missing manifest of each dangling tag.</param>
public sealed record VerdictCounts(long Broken, long Indeterminate, long Healthy, long MissingObjects)
{
    /// <summary>Healthy or broken verdicts kept while the walks since could not reach the registry.</summary>
    public long Stale { get; init; }

    /// <summary>The oldest <see cref="ManifestVerdict.StaleSince"/>.</summary>
    public DateTimeOffset? StaleSince { get; init; }

    public long DanglingTags { get; init; }
}
