using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Verifier.Registry;

public enum ProbeOutcome { Present, Missing, Indeterminate }

/// <summary>What the registry said about one object. Only a registry's own 404 is <see cref="ProbeOutcome.Missing"/>.</summary>
public sealed record ProbeResult(ProbeOutcome Outcome, int? StatusCode, string? ErrorCode, string? Reason)
{
    public static readonly ProbeResult Present = new(ProbeOutcome.Present, 200, null, null);
    public static ProbeResult Indeterminate(string reason, int? statusCode = null, string? errorCode = null) =>
        new(ProbeOutcome.Indeterminate, statusCode, errorCode, reason);
}

/// <param name="DigestVerified">The body was checked against the digest it was asked by (a legacy signed schema1 body cannot be).</param>
public sealed record ManifestResponse(ProbeResult Probe, byte[]? Body, string? MediaType, bool DigestVerified = false);

/// <summary>A page of names from a listing endpoint; <see cref="Next"/> is null on the last page.</summary>
public sealed record NamePage(IReadOnlyList<string> Names, string? Next, ProbeResult Probe)
{
    public static NamePage Failed(ProbeResult probe) => new([], null, probe);
}

/// <summary>
/// The registry HTTP API v2, as far as a verifier needs it. Paths are built only from validated
/// repository names and digests, and only against the configured base URL.
/// </summary>
/// <param name="availability">When the registry was last seen unavailable; none for a client that does not record it (a repair source).</param>
public sealed class RegistryClient(HttpClient http, IOptions<RegistryOptions> options, RegistryMetrics metrics, RegistryAvailability? availability = null)
{
    public RegistryAvailability? Availability => availability;

    private const string ApiVersionHeader = "Docker-Distribution-API-Version";

    public async Task<ManifestResponse> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken)
    {
        // A manifest's data removed behind the descriptor cache is claimed (200) and then not sent, like a blob's:
        // twice in a row is the registry saying it cannot serve it.
        var first = await GetManifestOnceAsync(repository, reference, cancellationToken);
        return first.Probe.ErrorCode == EmptyBody ? await GetManifestOnceAsync(repository, reference, cancellationToken) : first;
    }

    private async Task<ManifestResponse> GetManifestOnceAsync(string repository, string reference, CancellationToken cancellationToken)
    {
        EnsureValid(repository, reference, allowTag: true);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/manifests/{reference}");
        foreach (var mediaType in ManifestMediaTypes.Accept)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));

        return await SendAsync(request, "manifest", async response =>
        {
            var limit = options.Value.MaxManifestBytes;
            if (response.Content.Headers.ContentLength > limit)
                return new ManifestResponse(ProbeResult.Indeterminate($"manifest larger than {limit} bytes", 200), null, null);
            byte[]? body;
            try
            {
                body = await ReadLimitedAsync(response.Content, limit, cancellationToken);
            }
            catch (HttpIOException e) when (e.HttpRequestError == HttpRequestError.ResponseEnded)
            {
                body = [];
            }
            if (body is null)
                return new ManifestResponse(ProbeResult.Indeterminate($"manifest larger than {limit} bytes", 200), null, null);
            if (body.Length == 0)
                return new ManifestResponse(new ProbeResult(ProbeOutcome.Missing, (int)response.StatusCode, EmptyBody, "the registry claims the manifest but sends none of its bytes (data gone behind a stale cache)"), null, null);
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            // A signed schema1 manifest's digest covers its payload without the signatures, not the body.
            var digestChecked = !(ManifestMediaTypes.IsSchema1(mediaType) && ManifestDocument.IsSchema1(body));
            if (ReferenceGrammar.IsDigest(reference) && digestChecked && !DigestMatches(reference, body))
                return new ManifestResponse(ProbeResult.Indeterminate("manifest body does not match its digest", 200), null, null);
            return new ManifestResponse(ProbeResult.Present, body, mediaType, ReferenceGrammar.IsDigest(reference) && digestChecked);
        }, probe => new ManifestResponse(probe, null, null), cancellationToken);
    }

    /// <summary>Resolves a tag to the digest it points at now (the registry's <c>Docker-Content-Digest</c>).</summary>
    public async Task<(string? Digest, ProbeResult Probe)> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        EnsureValid(repository, tag, allowTag: true);
        using var request = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/manifests/{tag}");
        foreach (var mediaType in ManifestMediaTypes.Accept)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        return await SendAsync(request, "manifest_head", response =>
        {
            var digest = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
            return Task.FromResult(ReferenceGrammar.IsDigest(digest)
                ? (digest, ProbeResult.Present)
                : ((string?)null, ProbeResult.Indeterminate("the registry sent no valid Docker-Content-Digest", (int)response.StatusCode)));
        }, probe => ((string?)null, probe), cancellationToken);
    }

    /// <summary>One page of <c>/v2/_catalog</c>; pass the returned <see cref="NamePage.Next"/> to get the next one.</summary>
    public Task<NamePage> ListRepositoriesAsync(string? next, int pageSize, CancellationToken cancellationToken) =>
        ListPageAsync(next ?? $"v2/_catalog?n={pageSize}", "repositories", "catalog", cancellationToken);

    /// <summary>One page of a repository's tags (2.8 returns them all at once; 3.x pages like the catalog).</summary>
    public Task<NamePage> ListTagsAsync(string repository, string? next, CancellationToken cancellationToken)
    {
        EnsureValid(repository, "latest", allowTag: true);
        return ListPageAsync(next ?? $"v2/{repository}/tags/list", "tags", "tags", cancellationToken);
    }

    private async Task<NamePage> ListPageAsync(string pathAndQuery, string property, string kind, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        return await SendAsync(request, kind, async response =>
        {
            var body = await ReadLimitedAsync(response.Content, 64 * 1024 * 1024, cancellationToken);
            if (body is null)
                return NamePage.Failed(ProbeResult.Indeterminate($"{kind} page larger than 64 MiB", 200));
            List<string> names;
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    return NamePage.Failed(ProbeResult.Indeterminate($"{kind} page is not a JSON object", 200));
                names = document.RootElement.TryGetProperty(property, out var list) && list.ValueKind == JsonValueKind.Array
                    ? list.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                    : []; // "tags": null happens for a repository whose tags were all deleted
            }
            catch (JsonException e)
            {
                return NamePage.Failed(ProbeResult.Indeterminate($"{kind} page is not JSON: {e.Message}", 200));
            }
            var (next, problem) = NextLink(response);
            return problem is null
                ? new NamePage(names, next, ProbeResult.Present)
                : NamePage.Failed(ProbeResult.Indeterminate($"{kind} incomplete: {problem}", 200));
        }, NamePage.Failed, cancellationToken);
    }

    /// <summary>
    /// The <c>Link: &lt;...&gt;; rel="next"</c> target, resolved against the page it came with (a registry under
    /// <c>http.prefix</c> sends <c>&lt;/prefix/v2/_catalog?...&gt;</c>) and followed only on the registry's own origin.
    /// A next link that cannot be followed is a problem: the listing would silently end early.
    /// </summary>
    private (string? Next, string? Problem) NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
            return (null, null);
        foreach (var link in links.SelectMany(SplitLinks))
        {
            var open = link.IndexOf('<', StringComparison.Ordinal);
            var close = link.IndexOf('>', StringComparison.Ordinal);
            if (open < 0 || close <= open)
                continue;
            var parameters = link[(close + 1)..].Replace(" ", "", StringComparison.Ordinal);
            if (!parameters.Contains("rel=\"next\"", StringComparison.OrdinalIgnoreCase) && !parameters.Contains("rel=next", StringComparison.OrdinalIgnoreCase))
                continue;
            var page = response.RequestMessage?.RequestUri ?? http.BaseAddress;
            if (page is null || !Uri.TryCreate(page, link[(open + 1)..close], out var target))
                return (null, $"the next-page link '{Printable(link)}' is not a URL");
            if (!SameOrigin(target, http.BaseAddress!))
                return (null, $"the next-page link points to another origin ({Printable(target.GetLeftPart(UriPartial.Authority))})");
            return (target.AbsoluteUri, null);
        }
        return (null, null);
    }

    private static IEnumerable<string> SplitLinks(string header)
    {
        // Several links may share one header: "<a>; rel=\"next\", <b>; rel=\"last\"". Commas inside <...> are part of the URL.
        var start = 0;
        var inUrl = false;
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i] == '<')
                inUrl = true;
            else if (header[i] == '>')
                inUrl = false;
            else if (header[i] == ',' && !inUrl)
            {
                yield return header[start..i];
                start = i + 1;
            }
        }
        yield return header[start..];
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>Checks that a blob exists in <paramref name="repository"/> (blob lookups are scoped to the repository).</summary>
    public async Task<ProbeResult> CheckBlobAsync(string repository, string digest, long? expectedSize, CancellationToken cancellationToken)
    {
        EnsureValid(repository, digest, allowTag: false);
        if (options.Value.BlobCheck == BlobCheckMethod.Head || expectedSize == 0)
        {
            using var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/blobs/{digest}");
            return await SendAsync(head, "blob_head",
                response => Task.FromResult(SizeProbe(response.Content.Headers.ContentLength, expectedSize, (int)response.StatusCode)),
                probe => probe, cancellationToken);
        }
        // A registry whose blob-descriptor cache outlived the blob's data (GC, cleanup scripts) answers 200/206
        // and then sends no bytes. Asked twice with the same result, that is the registry saying it cannot
        // serve the blob: missing. A single empty answer could be a dropped connection, so it is asked again.
        var first = await GetFirstByteAsync(repository, digest, expectedSize, ranged: true, cancellationToken);
        if (first.StatusCode == (int)HttpStatusCode.RequestedRangeNotSatisfiable)
            return await GetFirstByteAsync(repository, digest, expectedSize, ranged: false, cancellationToken); // a zero-byte blob has no byte 0
        return first.ErrorCode == EmptyBody ? await GetFirstByteAsync(repository, digest, expectedSize, ranged: true, cancellationToken) : first;
    }

    /// <summary>The error code of a blob that the registry claims (200/206) but serves without a byte.</summary>
    public const string EmptyBody = "EMPTY_BODY";

    /// <summary>The error code of an object whose length is not the size its descriptor states: a pull of it fails.</summary>
    public const string SizeMismatch = "SIZE_MISMATCH";

    /// <summary>The error code of a blob whose data the registry's storage (the target of its redirect) answered 404 for.</summary>
    public const string StorageNotFound = "STORAGE_NOT_FOUND";

    private async Task<ProbeResult> GetFirstByteAsync(string repository, string digest, long? expectedSize, bool ranged, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/blobs/{digest}");
        if (ranged)
            request.Headers.Range = new RangeHeaderValue(0, 0);
        return await SendAsync(request, "blob_get", async response =>
        {
            var length = response.StatusCode == HttpStatusCode.PartialContent ? response.Content.Headers.ContentRange?.Length : response.Content.Headers.ContentLength;
            var size = SizeProbe(length, expectedSize, (int)response.StatusCode);
            if (size.Outcome != ProbeOutcome.Present)
                return size;
            var buffer = new byte[1];
            int read;
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                read = await stream.ReadAsync(buffer, cancellationToken);
            }
            catch (HttpIOException e) when (e.HttpRequestError == HttpRequestError.ResponseEnded)
            {
                read = 0;
            }
            return read > 0 || (!ranged && length == 0)
                ? ProbeResult.Present
                : new ProbeResult(ProbeOutcome.Missing, (int)response.StatusCode, EmptyBody, "the registry claims the blob but sends none of its bytes (data gone behind a stale cache)");
        }, probe => probe, cancellationToken);
    }

    private static ProbeResult SizeProbe(long? length, long? expectedSize, int statusCode) =>
        length is { } actual && expectedSize is { } expected && actual != expected
            ? new ProbeResult(ProbeOutcome.Missing, statusCode, SizeMismatch, $"the registry serves {actual} bytes, the descriptor says {expected}")
            : ProbeResult.Present;

    /// <summary><c>GET /v2/</c>: whether the registry answers at all (401 counts: it is up and wants credentials).</summary>
    /// <summary>Marks a request the resilience pipeline sends once: its answer, whatever it is, is what is wanted now.</summary>
    public static readonly HttpRequestOptionsKey<bool> SingleAttempt = new("RegistryIntegrity.SingleAttempt");

    /// <summary>One attempt, no retries: a status page says how the registry answers now, within its own short wait.</summary>
    public async Task<ProbeResult> PingAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v2/");
        request.Options.Set(SingleAttempt, true);
        var probe = await SendAsync(request, "ping", _ => Task.FromResult(ProbeResult.Present), probe => probe, cancellationToken);
        return probe.StatusCode is 401 ? probe with { Outcome = ProbeOutcome.Present } : probe;
    }

    private async Task<T> SendAsync<T>(
        HttpRequestMessage request, string kind, Func<HttpResponseMessage, Task<T>> onSuccess, Func<ProbeResult, T> onFailure,
        CancellationToken cancellationToken)
    {
        var asked = request.RequestUri is { IsAbsoluteUri: false } relative && http.BaseAddress is { } baseAddress
            ? new Uri(baseAddress, relative)
            : request.RequestUri;
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.CountRequest(kind, "error");
            if (e is not RequestBudgetExceededException)
                metrics.ObserveRegistry(answered: false);
            return onFailure(ProbeResult.Indeterminate(DescribeFailure(e)));
        }

        using (response)
        {
            metrics.CountRequest(kind, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            metrics.ObserveRegistry(answered: (int)response.StatusCode < 500);
            try
            {
                // Only 200 and 206 claim the object; 204 or 202 to a GET is no registry's answer and proves nothing.
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.PartialContent)
                    return await onSuccess(response);
                if (response.IsSuccessStatusCode)
                    return onFailure(ProbeResult.Indeterminate("unexpected status", (int)response.StatusCode));
                var redirectedTo = kind.StartsWith("blob", StringComparison.Ordinal) && response.RequestMessage?.RequestUri is { } final && final != asked ? final : null;
                return onFailure(await ClassifyFailureAsync(response, redirectedTo, cancellationToken));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Whatever the registry sends, the answer is a verdict, never an exception: what cannot be read is indeterminate.
                return onFailure(ProbeResult.Indeterminate(
                    IsTransportFailure(e, cancellationToken) ? $"reading the response failed: {DescribeFailure(e)}" : $"unreadable answer ({e.GetType().Name})",
                    (int)response.StatusCode));
            }
        }
    }

    /// <param name="redirectedTo">Set when a blob request was redirected by the registry (to object storage) and this is the storage's answer.</param>
    private static async Task<ProbeResult> ClassifyFailureAsync(HttpResponseMessage response, Uri? redirectedTo, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (redirectedTo is not null)
        {
            // The registry sent us to its storage for the data; the storage's 404 (S3 NoSuchKey, Azure BlobNotFound) is the
            // storage saying the data is gone. Its 403 (an expired signature) or 5xx tells nothing.
            return response.StatusCode == HttpStatusCode.NotFound
                ? new ProbeResult(ProbeOutcome.Missing, status, StorageNotFound, $"storage not found: the registry's storage ({Printable(redirectedTo.Host)}) answered 404 for the blob's data")
                : ProbeResult.Indeterminate($"the registry's storage ({Printable(redirectedTo.Host)}) answered {status}", status);
        }
        var errorCode = await ReadErrorCodeAsync(response, cancellationToken);
        var fromRegistry = errorCode is not null || response.Headers.Contains(ApiVersionHeader);
        if (response.StatusCode == HttpStatusCode.NotFound && fromRegistry)
            return new ProbeResult(ProbeOutcome.Missing, status, errorCode, "not found");
        var reason = response.StatusCode switch
        {
            HttpStatusCode.NotFound => "404 from something that is not the registry (no registry error code or API version header)",
            HttpStatusCode.Unauthorized => "unauthorized: check the registry credentials",
            HttpStatusCode.Forbidden => "denied: the credentials lack pull access",
            HttpStatusCode.TooManyRequests => "rate limited by the registry",
            _ when status >= 500 => "registry error",
            _ => "unexpected status",
        };
        return ProbeResult.Indeterminate(reason, status, errorCode);
    }

    private static async Task<string?> ReadErrorCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await ReadLimitedAsync(response.Content, 64 * 1024, cancellationToken);
            if (body is not { Length: > 0 })
                return null;
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array
                && errors.GetArrayLength() > 0 && errors[0].ValueKind == JsonValueKind.Object
                && errors[0].TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String && code.GetString() is { Length: > 0 } value
                ? Printable(value)
                : null;
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    private static async Task<byte[]?> ReadLimitedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
                return null;
        }
        return buffer.ToArray();
    }

    internal static bool DigestMatches(string digest, byte[] body)
    {
        var separator = digest.IndexOf(':', StringComparison.Ordinal);
        var hash = digest[..separator] == "sha512" ? SHA512.HashData(body) : SHA256.HashData(body);
        return Convert.ToHexStringLower(hash) == digest[(separator + 1)..];
    }

    private static void EnsureValid(string repository, string reference, bool allowTag)
    {
        if (!ReferenceGrammar.IsRepository(repository))
            throw new ArgumentException($"Not a valid repository name: {Printable(repository)}", nameof(repository));
        if (!ReferenceGrammar.IsDigest(reference) && !(allowTag && ReferenceGrammar.IsTag(reference)))
            throw new ArgumentException($"Not a valid digest{(allowTag ? " or tag" : "")}: {Printable(reference)}", nameof(reference));
    }

    private static string Printable(string value)
    {
        var builder = new StringBuilder();
        foreach (var c in value.Take(80))
            builder.Append(char.IsControl(c) ? '?' : c);
        return builder.ToString();
    }

    private static bool IsTransportFailure(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or RateLimiterRejectedException or RequestBudgetExceededException or IOException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>How a reason for a failed TLS handshake starts (the inner reason follows).</summary>
    public const string TlsFailure = "TLS with the registry failed";

    private static string DescribeFailure(Exception e) => e switch
    {
        BrokenCircuitException => "circuit open: the registry failed repeatedly",
        TimeoutRejectedException or OperationCanceledException => "timed out",
        RateLimiterRejectedException => "too many requests queued for the registry's concurrency limit",
        RequestBudgetExceededException => "too many requests queued for the registry's request budget",
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => $"registry unreachable (host name not found: {Innermost(e).Message})",
        HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } => $"{TlsFailure}: {Innermost(e).Message}",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => Innermost(e) switch
        {
            System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } => "registry unreachable (connection refused)",
            System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.TimedOut } => "registry unreachable (connect timed out)",
            System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable } =>
                "registry unreachable (no route to host)",
            var inner => $"registry unreachable (connection failed: {inner.Message})",
        },
        _ => $"request failed: {e.Message}",
    };

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;
}
