namespace RegistryIntegrity.Verifier.Verdicts;

/// <summary>
/// Events and storage removals are ordered by the time their reporter gives (the registry's, a watcher's), capped at
/// the Verifier's clock: a reporter whose clock runs ahead cannot place its report after every later observation.
/// </summary>
public static class ReportedTimes
{
    public static DateTimeOffset NoLaterThanNow(this TimeProvider time, DateTimeOffset reported)
    {
        var now = time.GetUtcNow();
        return reported < now ? reported : now;
    }
}
