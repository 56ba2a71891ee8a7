using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>A broken manifest to repair; <paramref name="Tag"/> is set for a tag whose manifest is gone (it is never moved).</summary>
public sealed record RepairTarget(string Repository, string Digest, string? Tag = null);

/// <summary>One object of a plan and what became of it.</summary>
/// <param name="Status"><c>planned</c> (dry run, a source has it), <c>no-source</c>, <c>copied</c> or <c>failed</c>.</param>
public sealed record RepairAction(
    string Kind, string Role, string Digest, long? Size, string? Parent, string Status,
    string? Source = null, string? SourceRepository = null, long? Bytes = null, string? Reason = null);

/// <summary>An object still missing after the repair (or that a repair could not copy), and why.</summary>
public sealed record StillMissing(string Kind, string Digest, IReadOnlyList<string> Path, string Why);

public static class RepairResults
{
    /// <summary>Dry run: every missing object was found in a source. Apply: the re-walk found it healthy.</summary>
    public const string Repairable = "repairable", Repaired = "repaired", NothingToDo = "nothing-to-do";

    /// <summary>Dry run: some missing object is in no source. Apply: the re-walk still found objects missing.</summary>
    public const string NotRepairable = "not-repairable", StillBroken = "still-broken";

    public const string Indeterminate = "indeterminate";

    /// <summary>0 repaired (or repairable, or nothing to do), 1 still broken (or not repairable), 2 indeterminate.</summary>
    public static int ExitCode(string result) => result switch
    {
        Repaired or Repairable or NothingToDo => 0,
        StillBroken or NotRepairable => 1,
        _ => 2,
    };
}

public sealed record RepairReport
{
    public required string Repository { get; init; }
    public required string Digest { get; init; }
    public string? Tag { get; init; }
    public required string Result { get; init; }
    public bool Applied { get; init; }
    public IReadOnlyList<RepairAction> Actions { get; init; } = [];
    public IReadOnlyList<StillMissing> StillMissing { get; init; } = [];
    public IReadOnlyList<string> IndeterminateReasons { get; init; } = [];
}

/// <summary>The outcome of a run over one or more manifests.</summary>
public sealed record RepairRun(bool Applied, IReadOnlyList<RepairReport> Manifests, IReadOnlyList<string> Problems)
{
    /// <summary>Still broken wins over indeterminate, which wins over repaired.</summary>
    public string Result =>
        Manifests.Any(m => RepairResults.ExitCode(m.Result) == 1) ? (Applied ? RepairResults.StillBroken : RepairResults.NotRepairable)
        : Manifests.Any(m => RepairResults.ExitCode(m.Result) == 2) || Problems.Count > 0 ? RepairResults.Indeterminate
        : Manifests.All(m => m.Result == RepairResults.NothingToDo) ? RepairResults.NothingToDo
        : Applied ? RepairResults.Repaired : RepairResults.Repairable;

    public int ExitCode => RepairResults.ExitCode(Result);

    public int ObjectsCopied => Manifests.Sum(m => m.Actions.Count(a => a.Status == "copied"));

    public long BytesCopied => Manifests.Sum(m => m.Actions.Where(a => a.Status == "copied").Sum(a => a.Bytes ?? 0));
}

