using System.Text.Json;
using Dapper;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>When this Verifier process started: a forecast needs a sweep completed since.</summary>
public sealed record VerifierStart(DateTimeOffset At);

/// <summary>
/// The registry's graph as the verdict store knows it: live manifests and their references, tags, and the objects
/// the last verdicts proved missing. Works for any storage backend, but knows only what the Verifier walked: blobs no
/// stored manifest references (abandoned uploads) are not seen, and the data of every object it ever saw is assumed to
/// be still there: a DELETE through the API removes links, the data stays until a GC. (So after an earlier GC, blobs it
/// already removed may be listed again as deleted; the registry-storage reader knows exactly.) The graph is incomplete, and the forecast says so, when no sweep
/// completed since this Verifier started or since the registry last restarted, or when a manifest's latest walk
/// could not reach the registry (its verdict is indeterminate or stale) or it was never seen.
/// </summary>
public sealed class StoreGraphSource(IDbConnectionFactory connections, ISweepStore sweeps, VerifierStart start) : IGcGraphSource
{
    private const int GapExamples = 5;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => "store";

    private sealed record ManifestRow(
        string Repository, string Digest, string? MediaType, string? SubjectDigest, long? DeletedMs, long? SeenMs,
        string? Result, string? AttemptResult, long? StaleSinceMs, string? MissingJson);

    private sealed record EdgeRow(string Repository, string ParentDigest, string ChildDigest, string Kind);

    public async Task<(GcGraph Graph, GraphCompleteness Completeness)> ReadAsync(CancellationToken cancellationToken)
    {
        var gaps = new List<string>();
        await SweepGapsAsync(gaps, cancellationToken);

        await using var connection = await connections.OpenAsync(cancellationToken);
        var manifests = (await connection.QueryAsync<ManifestRow>(new CommandDefinition("""
            SELECT repository AS Repository, digest AS Digest, media_type AS MediaType, subject_digest AS SubjectDigest, deleted_ms AS DeletedMs,
                   seen_ms AS SeenMs, result AS Result, attempt_result AS AttemptResult, stale_since_ms AS StaleSinceMs,
                   missing_json AS MissingJson
            FROM manifests
            """, cancellationToken: cancellationToken))).ToList();
        var edges = (await connection.QueryAsync<EdgeRow>(new CommandDefinition(
            "SELECT repository AS Repository, parent_digest AS ParentDigest, child_digest AS ChildDigest, kind AS Kind FROM manifest_references",
            cancellationToken: cancellationToken))).ToLookup(e => (e.Repository, e.ParentDigest));
        var tags = (await connection.QueryAsync<(string Repository, string Tag, string Digest)>(new CommandDefinition(
            "SELECT repository, tag, digest FROM tags UNION ALL SELECT repository, tag, digest FROM dangling_tags WHERE digest IS NOT NULL",
            cancellationToken: cancellationToken))).ToLookup(t => t.Repository);
        var tagsMissing = (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT repository FROM tag_directories WHERE tags_missing = 1", cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);

        // What the latest verdicts proved missing, per repository: a child manifest among them is no revision any more.
        var unavailable = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var row in manifests.Where(m => m.Result == StoredVerdict.Broken && m.DeletedMs is null && !string.IsNullOrEmpty(m.MissingJson)))
        {
            foreach (var missing in JsonSerializer.Deserialize<List<MissingObject>>(row.MissingJson!, Json) ?? [])
                Set(unavailable, row.Repository).Add(missing.Digest);
        }

        var blobs = new HashSet<string>(StringComparer.Ordinal);
        var unknown = new List<string>();
        var repositories = new Dictionary<string, List<GcManifest>>(StringComparer.Ordinal);
        foreach (var row in manifests)
        {
            var references = edges[(row.Repository, row.Digest)]
                .Select(e => new GcReference(e.ChildDigest, Enum.Parse<ReferenceKind>(e.Kind)))
                .OrderBy(r => r.Kind).ThenBy(r => r.Digest, StringComparer.Ordinal).ToList();
            // The data of a manifest and of what it references stays until a GC, whether or not it is still linked.
            blobs.Add(row.Digest);
            foreach (var reference in references)
                blobs.Add(reference.Digest);
            var missingHere = unavailable.GetValueOrDefault(row.Repository);
            if (row.DeletedMs is not null || missingHere?.Contains(row.Digest) == true)
                continue;
            if (row.SeenMs is null || row.AttemptResult == StoredVerdict.Indeterminate || row.StaleSinceMs is not null)
                unknown.Add($"{row.Repository}@{row.Digest}");
            Set(repositories, row.Repository).Add(new GcManifest(row.Digest, references, row.SubjectDigest, row.MediaType));
        }
        if (unknown.Count > 0)
        {
            gaps.Add($"{unknown.Count} manifest(s) whose latest walk could not reach the registry or that were never seen whole, so what they reference is not known " +
                     $"(e.g. {string.Join(", ", unknown.Order(StringComparer.Ordinal).Take(GapExamples))})");
        }

        var names = repositories.Keys.Concat(tags.Select(t => t.Key)).Distinct(StringComparer.Ordinal);
        var graph = new GcGraph(
            [.. names.Select(name => new GcRepository(
                name,
                repositories.GetValueOrDefault(name) ?? [],
                tags[name].GroupBy(t => t.Tag, StringComparer.Ordinal).ToDictionary(t => t.Key, t => t.First().Digest, StringComparer.Ordinal),
                TagsDirectoryExists: !tagsMissing.Contains(name) || tags[name].Any(),
                Unavailable: unavailable.GetValueOrDefault(name)))],
            blobs);
        return (graph, new GraphCompleteness(gaps));
    }

    private async Task SweepGapsAsync(List<string> gaps, CancellationToken cancellationToken)
    {
        var completed = await sweeps.GetLatestSweepAsync(completedOnly: true, cancellationToken);
        if (completed?.CompletedAt is not { } completedAt)
        {
            gaps.Add("no sweep has completed yet: the store may not know every repository, tag and manifest");
            return;
        }
        if (completedAt < start.At)
            gaps.Add($"no sweep has completed since this Verifier started ({start.At:O}; the last completed at {completedAt:O})");
        await using var connection = await connections.OpenAsync(cancellationToken);
        var restartedMs = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MAX(first_seen_ms) FROM registry_instances", cancellationToken: cancellationToken));
        if (restartedMs is { } ms && DateTimeOffset.FromUnixTimeMilliseconds(ms) > completed.StartedAt)
            gaps.Add($"the registry restarted ({DateTimeOffset.FromUnixTimeMilliseconds(ms):O}) after the last completed sweep started ({completed.StartedAt:O}): events may have been lost");
    }

    private static List<T> Set<T>(Dictionary<string, List<T>> sets, string key) =>
        sets.TryGetValue(key, out var set) ? set : sets[key] = [];

    private static HashSet<string> Set(Dictionary<string, HashSet<string>> sets, string key) =>
        sets.TryGetValue(key, out var set) ? set : sets[key] = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Cheap, indexed maxima only: changes whenever something the forecast reads may have changed (a walk, an event,
    /// a sweep, a tag listing, a tag pushed or deleted through the API or removed on the registry's storage).
    /// </summary>
    public async Task<string> ChangeMarkerAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleAsync<(long? History, long? Events, long? Started, long? Completed, long? Listings, long? Directories, long? Tags, long? Removals, long Dangling)>(
            new CommandDefinition("""
                SELECT (SELECT MAX(id) FROM verdict_history), (SELECT MAX(occurred_ms) FROM processed_events),
                       (SELECT MAX(started_ms) FROM sweeps), (SELECT MAX(completed_ms) FROM sweeps), (SELECT MAX(listed_ms) FROM tag_listings),
                       (SELECT MAX(listed_ms) FROM tag_directories), (SELECT MAX(changed_ms) FROM tag_changes),
                       (SELECT MAX(removed_ms) FROM registry_storage_tag_removals), (SELECT COUNT(*) FROM dangling_tags)
                """, cancellationToken: cancellationToken));
        return row.ToString();
    }
}
