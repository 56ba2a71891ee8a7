namespace RegistryIntegrity.Contracts;

/// <summary>
/// Sweep the whole registry: enumerate the catalog and every tag, and verify what they point at.
/// Garbage collection, cleanup scripts and registry restarts send no event: only a sweep sees them.
/// </summary>
public sealed record StartSweep
{
    public required Guid SweepId { get; init; }

    /// <summary>Why: <c>api</c>, <c>cli</c>, <c>schedule</c>, <c>registry-restart</c>.</summary>
    public required string Trigger { get; init; }

    public required DateTimeOffset RequestedAt { get; init; }
}

/// <summary>One repository of a sweep: list its tags, verify every manifest, reconcile the store.</summary>
public sealed record SweepRepository
{
    public required Guid SweepId { get; init; }
    public required string Repository { get; init; }
}
