using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Repair;

/// <param name="Copied">The registry confirmed the object under its digest.</param>
/// <param name="NotInSource">The source answered that it does not have the object (try the next one).</param>
public sealed record CopyOutcome(bool Copied, bool NotInSource, long Bytes, string? Problem)
{
    public static CopyOutcome Failed(string problem, bool notInSource = false) => new(false, notInSource, 0, problem);
}

/// <summary>
/// Writes objects into the registry through its API, by digest only: blobs with the upload API (one PUT, or
/// PATCH chunks and a closing PUT, the digest checked by us while streaming and by the registry at the end) and
/// manifests with their exact bytes and media type. It has no way to write a tag or delete anything.
/// </summary>
/// <remarks>
/// Requests go through the registry client's own handler chain (request budget, resilience, authentication),
/// asking for a push scope. Blob bytes stream from the source to the registry a chunk at a time, never held whole.
/// </remarks>
public sealed class ObjectCopier(IHttpClientFactory clients, IOptions<RepairOptions> options)
{
    /// <summary>The named client behind <see cref="RegistryClient"/> (a typed client is registered under its type's name).</summary>
    private const string RegistryClientName = nameof(RegistryClient);

    public async Task<CopyOutcome> PutManifestAsync(string repository, string digest, byte[] body, string mediaType, CancellationToken cancellationToken)
    {
        using var http = clients.CreateClient(RegistryClientName);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"v2/{repository}/manifests/{digest}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        Push(request, repository);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created)
                return CopyOutcome.Failed($"the registry refused the manifest: {await DescribeAsync(response, cancellationToken)}");
            var stored = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
            return stored is null || stored == digest
                ? new CopyOutcome(true, false, body.Length, null)
                : CopyOutcome.Failed($"the registry stored the manifest as {stored}, not {digest}");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return CopyOutcome.Failed($"writing the manifest failed: {e.Message}");
        }
    }

    /// <summary>Streams a blob from <paramref name="source"/> into <paramref name="repository"/>.</summary>
    public async Task<CopyOutcome> CopyBlobAsync(
        SourceRegistry source, string sourceRepository, string repository, string digest, long? size, CancellationToken cancellationToken)
    {
        try
        {
            using var get = await source.Http.GetAsync($"v2/{sourceRepository}/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (get.StatusCode == HttpStatusCode.NotFound)
                return CopyOutcome.Failed($"{source.Name} has no {digest} in {sourceRepository} (404)", notInSource: true);
            if (!get.IsSuccessStatusCode)
                return CopyOutcome.Failed($"{source.Name} answered {(int)get.StatusCode} for {digest} in {sourceRepository}");
            var length = get.Content.Headers.ContentLength ?? size;
            if (size is { } expected && length != expected)
                return CopyOutcome.Failed($"{source.Name} serves {length} bytes for {digest}, the descriptor says {expected}", notInSource: true);
            await using var body = await get.Content.ReadAsStreamAsync(cancellationToken);
            await using var checkedBody = new DigestCheckingStream(body, digest, length);
            return await UploadAsync(repository, digest, checkedBody, length, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return CopyOutcome.Failed($"copying the blob failed: {e.Message}");
        }
    }

    private async Task<CopyOutcome> UploadAsync(string repository, string digest, DigestCheckingStream body, long? length, CancellationToken cancellationToken)
    {
        using var http = clients.CreateClient(RegistryClientName);
        using var start = new HttpRequestMessage(HttpMethod.Post, $"v2/{repository}/blobs/uploads/");
        Push(start, repository);
        using var started = await http.SendAsync(start, cancellationToken);
        if (started.StatusCode != HttpStatusCode.Accepted)
            return CopyOutcome.Failed($"the registry refused to start an upload: {await DescribeAsync(started, cancellationToken)}");
        var location = Location(started);
        var chunk = options.Value.ChunkBytes;

        if (length is { } total && total <= chunk)
        {
            // Monolithic: one PUT carrying the whole blob; the registry checks the digest before it commits.
            using var put = new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest)) { Content = Octets(body, total) };
            Push(put, repository);
            using var done = await http.SendAsync(put, cancellationToken);
            if (done.StatusCode != HttpStatusCode.Created)
                return CopyOutcome.Failed($"the registry refused the blob: {await DescribeAsync(done, cancellationToken)}");
            body.Verify();
            return new CopyOutcome(true, false, body.BytesRead, null);
        }

        // Chunked: PATCH one bounded piece at a time (each within the request timeout), then a closing PUT with the digest.
        long offset = 0;
        do
        {
            var size = length is { } known ? Math.Min(chunk, known - offset) : (long?)null;
            using var patch = new HttpRequestMessage(HttpMethod.Patch, location)
            {
                Content = size is { } n ? Octets(new ChunkStream(body, n), n) : new StreamContent(body),
            };
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (size is { } bytes)
                patch.Content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + bytes - 1}");
            Push(patch, repository);
            using var patched = await http.SendAsync(patch, cancellationToken);
            if (patched.StatusCode != HttpStatusCode.Accepted)
                return CopyOutcome.Failed($"the registry refused a chunk at byte {offset}: {await DescribeAsync(patched, cancellationToken)}");
            location = Location(patched);
            offset = body.BytesRead;
        }
        while (length is { } all && offset < all);
        body.Verify(); // before the registry commits anything
        using var close = new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest)) { Content = new ByteArrayContent([]) };
        Push(close, repository);
        using var closed = await http.SendAsync(close, cancellationToken);
        return closed.StatusCode == HttpStatusCode.Created
            ? new CopyOutcome(true, false, body.BytesRead, null)
            : CopyOutcome.Failed($"the registry refused to commit the blob: {await DescribeAsync(closed, cancellationToken)}");
    }

    private static StreamContent Octets(Stream stream, long length)
    {
        var content = new StreamContent(stream, 81920);
        content.Headers.ContentLength = length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static void Push(HttpRequestMessage request, string repository) =>
        request.Options.Set(RegistryAuthenticationHandler.Scope, $"repository:{repository}:pull,push");

    /// <summary>The upload's next URL; only on the registry's own origin, where the handlers send credentials.</summary>
    private static Uri Location(HttpResponseMessage response)
    {
        var asked = response.RequestMessage!.RequestUri!;
        var location = response.Headers.Location ?? throw new IOException("the registry sent no upload Location");
        var target = location.IsAbsoluteUri ? location : new Uri(asked, location);
        if (Uri.Compare(target, asked, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
            throw new IOException($"the registry's upload Location points to another origin ({target.GetLeftPart(UriPartial.Authority)})");
        return target;
    }

    private static Uri WithDigest(Uri location, string digest) =>
        new(location.AbsoluteUri + (string.IsNullOrEmpty(location.Query) ? "?" : "&") + "digest=" + Uri.EscapeDataString(digest));

    private static async Task<string> DescribeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        text = new string([.. text.Take(200).Select(c => char.IsControl(c) ? ' ' : c)]).Trim();
        return $"{(int)response.StatusCode}{(text.Length > 0 ? $" {text}" : "")}";
    }
}
