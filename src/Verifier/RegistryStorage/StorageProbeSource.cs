using System.Collections.Concurrent;
using System.Text.Json;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.RegistryStorage;

/// <summary>
/// The walker's answers for one repository read from the registry's storage, with the registry's own rules
/// (distribution 2.8/3.x): a manifest is there when its revision link is there and its blob data is; a blob
/// (config or layer) is there when the repository's layer link is there and its data is, with the size its
/// descriptor states and a first byte that can be read. What storage shows gone is missing (with the error
/// code the registry would answer), what cannot be read is indeterminate with the reason. Each object is read
/// at most once per source, like <see cref="RegistryProbeCache"/>.
/// </summary>
public sealed class StorageProbeSource(IRegistryStorage storage, string repository, int maxManifestBytes, TimeProvider time) : IProbeSource
{
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string BlobUnknown = "BLOB_UNKNOWN";

    private readonly ConcurrentDictionary<string, Lazy<Task<Observed<ManifestResponse>>>> _manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<Observed<ProbeResult>>>> _blobs = new(StringComparer.Ordinal);

    public string Repository => repository;

    public IProbeSource Renew() => new StorageProbeSource(storage, repository, maxManifestBytes, time);

    /// <summary>Storage is read directly, with no registry process to stop and restart in between.</summary>
    public bool UnavailableSince(DateTimeOffset at) => false;

    public Task<Observed<ManifestResponse>> GetManifestAsync(string digest, CancellationToken cancellationToken) =>
        _manifests.GetOrAdd(digest, d => new(() => AskAsync(() => ReadManifestAsync(d, cancellationToken)))).Value;

    public Task<Observed<ProbeResult>> CheckBlobAsync(string digest, long? size, CancellationToken cancellationToken) =>
        _blobs.GetOrAdd(digest, d => new(() => AskAsync(() => CheckBlobOnceAsync(d, size, cancellationToken)))).Value;

    /// <summary>
    /// Whether a walk of this source already read the blob's layer link (naming it) and found its data: the layer-link
    /// check of the scan then need not read both again. Anything else (not asked, missing, unreadable) is false.
    /// </summary>
    public bool SawLayerLinkAndData(string digest) =>
        _blobs.TryGetValue(digest, out var answer) && answer.IsValueCreated && answer.Value.IsCompletedSuccessfully
        && answer.Value.Result.Value is var probe && (probe.Outcome == ProbeOutcome.Present || probe.ErrorCode == RegistryClient.SizeMismatch);

    private async Task<ManifestResponse> ReadManifestAsync(string digest, CancellationToken cancellationToken)
    {
        var link = await storage.ReadLinkAsync(RegistryStorageLayout.RevisionLinkPath(repository, digest), cancellationToken);
        if (Failed(link, ManifestUnknown, "revision link") is { } linkProblem)
            return new ManifestResponse(linkProblem, null, null);
        if (link.Value != digest)
            return new ManifestResponse(ProbeResult.Indeterminate($"the revision link names another digest ({link.Value})"), null, null);
        var data = await storage.ReadBlobAsync(digest, maxManifestBytes, whole: true, cancellationToken);
        if (Failed(data, ManifestUnknown, "manifest data") is { } dataProblem)
            return new ManifestResponse(dataProblem, null, null);
        var body = data.Value!;
        if (body.Length == 0)
            return new ManifestResponse(ProbeResult.Indeterminate("the manifest's data file is empty"), null, null);
        var digestChecked = !ManifestDocument.IsSchema1(body);
        if (digestChecked && !RegistryClient.DigestMatches(digest, body))
            return new ManifestResponse(ProbeResult.Indeterminate("manifest data does not match its digest"), null, null);
        return new ManifestResponse(ProbeResult.Present, body, ServedMediaType(body), digestChecked);
    }

    private async Task<ProbeResult> CheckBlobOnceAsync(string digest, long? expectedSize, CancellationToken cancellationToken)
    {
        var link = await storage.ReadLinkAsync(RegistryStorageLayout.LayerLinkPath(repository, digest), cancellationToken);
        if (Failed(link, BlobUnknown, "layer link") is { } linkProblem)
            return linkProblem;
        if (link.Value != digest)
            return ProbeResult.Indeterminate($"the layer link names another digest ({link.Value})");
        // The first byte too, as the HTTP sweep's ranged GET: data that exists but cannot be read is no proof.
        var length = await storage.StatBlobAsync(digest, readFirstByte: true, cancellationToken);
        if (Failed(length, BlobUnknown, "blob data") is { } dataProblem)
            return dataProblem;
        return expectedSize is { } expected && length.Value != expected
            ? new ProbeResult(ProbeOutcome.Missing, null, RegistryClient.SizeMismatch, $"the storage holds {length.Value} bytes, the descriptor says {expected}")
            : ProbeResult.Present;
    }

    /// <summary>Null when present; otherwise the probe the registry's answer would give: missing (its 404 code) or indeterminate.</summary>
    private static ProbeResult? Failed<T>(StorageAnswer<T> answer, string errorCode, string what) => answer.Outcome switch
    {
        StorageOutcome.Present => null,
        StorageOutcome.Missing => new ProbeResult(ProbeOutcome.Missing, null, errorCode, $"storage: {answer.Reason}"),
        _ => ProbeResult.Indeterminate($"storage: {what}: {answer.Reason}"),
    };

    /// <summary>
    /// The Content-Type distribution serves a stored manifest with: its <c>mediaType</c>, or for an OCI document
    /// without one, an index when it lists <c>manifests</c>, else an image manifest (registry/storage/manifeststore.go).
    /// </summary>
    internal static string? ServedMediaType(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return null;
            if (root.TryGetProperty("mediaType", out var mediaType) && mediaType.ValueKind == JsonValueKind.String && mediaType.GetString() is { Length: > 0 } declared)
                return declared;
            if (root.TryGetProperty("schemaVersion", out var version) && version.ValueKind == JsonValueKind.Number && version.TryGetInt32(out var number))
            {
                if (number == 1)
                    return ManifestMediaTypes.DockerSchema1Signed;
                return root.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array
                    ? ManifestMediaTypes.OciIndex
                    : ManifestMediaTypes.OciManifest;
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task<Observed<T>> AskAsync<T>(Func<Task<T>> read)
    {
        var askedAt = time.GetUtcNow();
        return new Observed<T>(await read(), askedAt);
    }
}
