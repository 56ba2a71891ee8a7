using System.Text;
using System.Text.RegularExpressions;

namespace RegistryIntegrity.Benchmarks.Sweep;

/// <summary>What the registry's own access log says about a stretch of time.</summary>
/// <param name="Busy">The durations of all requests added up, when the registry logs at info (else zero).</param>
internal sealed record AccessLogCount(
    int Requests, int NotSuccessful, IReadOnlyDictionary<string, int> ByKind,
    int DigestKeys, int DigestDuplicates, int TagKeys, int TagDuplicates, IReadOnlyList<string> DuplicateExamples, TimeSpan Busy)
{
    /// <summary>Requests in progress inside the registry on average (Little's law), or null without durations.</summary>
    public double? InFlight(TimeSpan over) => Busy > TimeSpan.Zero ? Busy / over : null;
}

/// <summary>
/// Reads registry 2.8's access log: it writes one Apache "combined" line per request to stdout
/// (`log.accesslog`, on by default whatever `log.level` says), which scripts/stack.sh sends to
/// $STACK_DIR/registry.log. At `log.level: info` (REGISTRY_LOG_LEVEL=info) it also logs a
/// "response completed" line per request with its duration.
/// </summary>
internal static partial class AccessLog
{
    [GeneratedRegex("\"(GET|HEAD) (/v2/\\S*) HTTP/1\\.1\" (\\d{3}) ")]
    private static partial Regex RequestLine();

    [GeneratedRegex("^/v2/(.+)/(manifests|blobs)/([^/]+)$")]
    private static partial Regex ObjectPath();

    // Go's time.Duration: 850.2µs, 1.564533ms, 2.1s
    [GeneratedRegex("msg=\"response completed.*http\\.response\\.duration=([\\d.]+)(ns|µs|us|ms|s) ")]
    private static partial Regex Completed();

    public static long Length(string path) => new FileInfo(path).Length;

    /// <summary>Counts the requests logged between two lengths of the log file.</summary>
    public static AccessLogCount Count(string path, long from, long to)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        file.Position = from;
        var buffer = new byte[to - from];
        file.ReadExactly(buffer);

        var byKind = new Dictionary<string, int>(StringComparer.Ordinal);
        var byDigest = new Dictionary<string, int>(StringComparer.Ordinal);
        var byTag = new Dictionary<string, int>(StringComparer.Ordinal);
        int requests = 0, notSuccessful = 0;
        var busy = TimeSpan.Zero;
        foreach (var line in Encoding.UTF8.GetString(buffer).Split('\n'))
        {
            if (Completed().Match(line) is { Success: true } completed)
            {
                var value = double.Parse(completed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                busy += TimeSpan.FromMilliseconds(completed.Groups[2].Value switch { "ns" => value / 1e6, "µs" or "us" => value / 1e3, "ms" => value, _ => value * 1e3 });
                continue;
            }
            var request = RequestLine().Match(line);
            if (!request.Success)
                continue;
            requests++;
            if (request.Groups[3].Value[0] != '2')
                notSuccessful++;
            var method = request.Groups[1].Value;
            var uri = request.Groups[2].Value;
            var target = ObjectPath().Match(uri);
            string kind;
            if (!target.Success)
                kind = uri.StartsWith("/v2/_catalog", StringComparison.Ordinal) ? "catalog" : uri.EndsWith("/tags/list", StringComparison.Ordinal) ? "tags" : "other";
            else
            {
                var (repository, what, reference) = (target.Groups[1].Value, target.Groups[2].Value, target.Groups[3].Value);
                var byDigestOrTag = reference.StartsWith("sha256:", StringComparison.Ordinal) ? byDigest : byTag;
                var key = $"{repository}@{reference}";
                byDigestOrTag[key] = byDigestOrTag.GetValueOrDefault(key) + 1;
                kind = (what, method) switch
                {
                    ("manifests", "HEAD") => "manifest_head",
                    ("manifests", _) => "manifest",
                    ("blobs", "HEAD") => "blob_head",
                    _ => "blob_get",
                };
            }
            byKind[kind] = byKind.GetValueOrDefault(kind) + 1;
        }
        return new AccessLogCount(
            requests, notSuccessful, byKind,
            byDigest.Count, byDigest.Values.Sum(n => n - 1), byTag.Count, byTag.Values.Sum(n => n - 1),
            [.. byDigest.Concat(byTag).Where(k => k.Value > 1).Take(5).Select(k => $"{k.Key} x{k.Value}")], busy);
    }
}
