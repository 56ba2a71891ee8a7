using RegistryIntegrity.Verifier.Api;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>Where an image was built from, as its annotations say (<c>org.opencontainers.image.source</c>, <c>.revision</c>).</summary>
public sealed record BuildOrigin(string? Source, string? Revision);

/// <summary>An object to push again, with the platform its index gives it when it is a child manifest.</summary>
public sealed record RePush(string Kind, string Digest, string? Parent, string? Platform);

/// <summary>What would fix a broken image, for the runbook step: what to push again and from which build.</summary>
public sealed record RepairHint(string Summary, IReadOnlyList<RePush> RePush, BuildOrigin? Build, bool SourcesConfigured);

/// <summary>
/// Hints for <c>/v1/broken</c> and <c>check</c>. The build origin is read from the root manifest (its annotations,
/// and the descriptor annotations its index gives each child); manifests are immutable by digest, so what was
/// read is kept (a bounded cache) and a listing costs one manifest GET per broken image at most once.
/// </summary>
public sealed class RepairHints(RegistryClient registry, IOptions<RepairOptions> options) : IBrokenListAnnotator
{
    private const int MaxCached = 10_000;
    private static readonly TimeSpan LookupBudget = TimeSpan.FromSeconds(3);
    private readonly ConcurrentDictionary<(string, string), RootFacts> _facts = new();

    private sealed record RootFacts(BuildOrigin? Build, IReadOnlyDictionary<string, string> Platforms, IReadOnlyDictionary<string, BuildOrigin> ChildBuilds);

    public async Task<RepairHint> ForAsync(string repository, string digest, string? tag, IReadOnlyList<MissingObject> missing, CancellationToken cancellationToken)
    {
        var facts = await FactsAsync(repository, digest, cancellationToken);
        var rootMissing = missing.Any(m => m.Path.Count == 0);
        var rePush = missing
            .Select(m => new RePush(m.Kind, m.Digest, m.Path.Count > 0 ? m.Path[^1] : null, PlatformOf(facts, m)))
            .ToList();
        var build = facts?.Build ?? missing.Select(m => facts?.ChildBuilds.GetValueOrDefault(m.Digest)).FirstOrDefault(b => b is not null);
        var what = rootMissing
            ? $"push {repository}@{digest}{(tag is null ? "" : $" (tag {tag})")} again: the manifest itself is gone"
            : "push again " + string.Join(", ", rePush.Select(p => $"{p.Kind} {p.Digest}{(p.Platform is null ? "" : $" ({p.Platform})")}"))
              + $" of {repository}@{digest}";
        var from = build is null
            ? " (rebuild the image from its source; no org.opencontainers.image.source annotation says where that is)"
            : $" from the build of {build.Source ?? "its source"}{(build.Revision is null ? "" : $" at revision {build.Revision}")}";
        var configured = options.Value.Sources.Count > 0;
        var how = configured
            ? "; or run `repair` (POST /v1/repairs) to copy them from the configured sources"
            : "; or configure Repair:Sources and run `repair` to copy them from a registry that still has them";
        return new RepairHint(what + from + how, rePush, build, configured);
    }

    /// <summary>
    /// The platform (os/architecture[/variant]) the root index gives the missing object's manifest: the object
    /// itself when it is a child, else the child it lies under. Null for an image without an index, or unknown.
    /// </summary>
    private static string? PlatformOf(RootFacts? facts, MissingObject missing) =>
        facts is null ? null : new[] { missing.Digest }.Concat(missing.Path.Skip(1)).Select(d => facts.Platforms.GetValueOrDefault(d)).FirstOrDefault(p => p is not null);

    /// <summary>
    /// Each broken entry of <c>/v1/broken</c> as it was, plus <c>repairHint</c>, <c>runbook</c> (when given), and
    /// <c>platform</c> on each missing object that is a child of the root index or lies under one.
    /// </summary>
    public async Task<IReadOnlyList<JsonNode?>> AnnotateAsync(IEnumerable<object> broken, JsonSerializerOptions json, CancellationToken cancellationToken, Uri? runbook = null)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(LookupBudget);
        var result = new List<JsonNode?>();
        foreach (var entry in broken)
        {
            var node = JsonSerializer.SerializeToNode(entry, entry.GetType(), json);
            var (repository, digest, tag, missing) = entry switch
            {
                ManifestVerdict m => (m.Repository, m.Digest, m.Tags.FirstOrDefault(), m.Missing),
                DanglingTag d => (d.Repository, d.Digest, d.Tag, d.Missing),
                _ => (null, null, null, (IReadOnlyList<MissingObject>)[]),
            };
            if (node is JsonObject item && repository is not null && digest is not null)
            {
                // Past the budget the hint is still given, only without the build origin.
                var token = budget.IsCancellationRequested ? new CancellationToken(canceled: true) : budget.Token;
                item["repairHint"] = JsonSerializer.SerializeToNode(await ForAsync(repository, digest, tag, missing, token), json);
                if (_facts.TryGetValue((repository, digest), out var facts) && item["missing"] is JsonArray listed)
                {
                    for (var i = 0; i < Math.Min(listed.Count, missing.Count); i++)
                    {
                        if (listed[i] is JsonObject entryMissing && PlatformOf(facts, missing[i]) is { } platform)
                            entryMissing["platform"] = platform;
                    }
                }
                if (runbook is not null)
                    item["runbook"] = runbook.AbsoluteUri;
            }
            result.Add(node);
        }
        return result;
    }

    private async Task<RootFacts?> FactsAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        if (_facts.TryGetValue((repository, digest), out var known))
            return known;
        if (cancellationToken.IsCancellationRequested)
            return null;
        ManifestResponse answer;
        try
        {
            answer = await registry.GetManifestAsync(repository, digest, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        if (answer.Probe.Outcome != ProbeOutcome.Present || answer.Body is null)
            return null;
        var facts = Read(answer.Body);
        if (_facts.Count >= MaxCached)
            _facts.Clear();
        _facts[(repository, digest)] = facts;
        return facts;
    }

    private static RootFacts Read(byte[] body)
    {
        var platforms = new Dictionary<string, string>(StringComparer.Ordinal);
        var childBuilds = new Dictionary<string, BuildOrigin>(StringComparer.Ordinal);
        BuildOrigin? build = null;
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return new RootFacts(null, platforms, childBuilds);
            build = Origin(root);
            if (root.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array)
            {
                foreach (var child in manifests.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.Object))
                {
                    if (String(child, "digest") is not { } digest)
                        continue;
                    if (child.TryGetProperty("platform", out var platform) && platform.ValueKind == JsonValueKind.Object)
                        platforms[digest] = string.Join('/', new[] { String(platform, "os"), String(platform, "architecture"), String(platform, "variant") }.Where(p => p is not null));
                    if (Origin(child) is { } origin)
                        childBuilds[digest] = origin;
                }
            }
        }
        catch (JsonException)
        {
        }
        return new RootFacts(build, platforms, childBuilds);
    }

    private static BuildOrigin? Origin(JsonElement element)
    {
        if (!element.TryGetProperty("annotations", out var annotations) || annotations.ValueKind != JsonValueKind.Object)
            return null;
        var source = String(annotations, "org.opencontainers.image.source");
        var revision = String(annotations, "org.opencontainers.image.revision");
        return source is null && revision is null ? null : new BuildOrigin(Clean(source), Clean(revision));
    }

    private static string? Clean(string? value) => value is null ? null : new string([.. value.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
