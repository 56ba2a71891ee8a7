using System.Text.Json;
using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Verifier.Registry;

public enum ReferenceKind { ChildManifest, Config, Layer }

public sealed record Descriptor(ReferenceKind Kind, string Digest, string? MediaType, long? Size, bool IsForeign);

/// <summary>
/// The references a manifest holds: child manifests of an index, or config and layers of an image.
/// <c>subject</c> is a back-reference (the manifest this artifact is about), not a child.
/// </summary>
public sealed record ManifestDocument(string? MediaType, IReadOnlyList<Descriptor> References, string? Subject)
{
    public static ManifestDocument Parse(byte[] body, string? contentType)
    {
        using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException("manifest is not a JSON object");
        var mediaType = String(root, "mediaType") ?? contentType;
        var references = new List<Descriptor>();

        if (root.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array)
            references.AddRange(manifests.EnumerateArray().Select(d => Describe(ReferenceKind.ChildManifest, d)));
        if (root.TryGetProperty("config", out var config) && config.ValueKind == JsonValueKind.Object)
            references.Add(Describe(ReferenceKind.Config, config));
        if (root.TryGetProperty("layers", out var layers) && layers.ValueKind == JsonValueKind.Array)
            references.AddRange(layers.EnumerateArray().Select(d => Describe(ReferenceKind.Layer, d)));
        if (root.TryGetProperty("blobs", out var blobs) && blobs.ValueKind == JsonValueKind.Array)
            references.AddRange(blobs.EnumerateArray().Select(d => Describe(ReferenceKind.Layer, d)));
        if (root.TryGetProperty("fsLayers", out var fsLayers) && fsLayers.ValueKind == JsonValueKind.Array)
        {
            mediaType ??= ManifestMediaTypes.DockerSchema1Signed;
            foreach (var layer in fsLayers.EnumerateArray())
                references.Add(new Descriptor(ReferenceKind.Layer, ValidDigest(String(layer, "blobSum")), null, null, false));
        }

        string? subject = null;
        if (root.TryGetProperty("subject", out var subjectElement) && subjectElement.ValueKind == JsonValueKind.Object)
            subject = ValidDigest(String(subjectElement, "digest"));

        // Schema1 lists a layer once per history entry; walk each digest once.
        var distinct = references.DistinctBy(r => (r.Kind, r.Digest)).ToList();
        return new ManifestDocument(mediaType, distinct, subject);
    }

    private static Descriptor Describe(ReferenceKind kind, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new FormatException("descriptor is not a JSON object");
        long? size = element.TryGetProperty("size", out var s) && s.TryGetInt64(out var value) ? value : null;
        var foreign = element.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0;
        return new Descriptor(kind, ValidDigest(String(element, "digest")), String(element, "mediaType"), size, foreign);
    }

    private static string ValidDigest(string? digest) =>
        ReferenceGrammar.IsDigest(digest) ? digest! : throw new FormatException($"descriptor digest is missing or invalid");

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
