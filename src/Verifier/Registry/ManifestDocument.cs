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

        if (IsSchema1(root))
        {
            // Legacy schema1 lists layers only, once per history entry.
            mediaType = ManifestMediaTypes.IsSchema1(contentType) ? contentType : ManifestMediaTypes.DockerSchema1Signed;
            if (root.TryGetProperty("fsLayers", out var fsLayers) && fsLayers.ValueKind == JsonValueKind.Array)
            {
                foreach (var layer in fsLayers.EnumerateArray())
                    references.Add(new Descriptor(ReferenceKind.Layer, ValidDigest(String(layer, "blobSum")), null, null, false));
            }
            return new ManifestDocument(mediaType, [.. references.Distinct()], null);
        }

        if (root.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array)
            references.AddRange(manifests.EnumerateArray().Select(d => Describe(ReferenceKind.ChildManifest, d)));
        if (root.TryGetProperty("config", out var config) && config.ValueKind == JsonValueKind.Object)
            references.Add(Describe(ReferenceKind.Config, config));
        if (root.TryGetProperty("layers", out var layers) && layers.ValueKind == JsonValueKind.Array)
            references.AddRange(layers.EnumerateArray().Select(d => Describe(ReferenceKind.Layer, d)));
        // The short-lived OCI artifact manifest (image-spec 1.1 release candidates) listed its blobs here.
        if (root.TryGetProperty("blobs", out var blobs) && blobs.ValueKind == JsonValueKind.Array)
            references.AddRange(blobs.EnumerateArray().Select(d => Describe(ReferenceKind.Layer, d)));

        string? subject = null;
        if (root.TryGetProperty("subject", out var subjectElement) && subjectElement.ValueKind == JsonValueKind.Object)
            subject = ValidDigest(String(subjectElement, "digest"));

        return new ManifestDocument(mediaType, [.. references.DistinctBy(r => (r.Kind, r.Digest))], subject);
    }

    /// <summary>Whether the body is a legacy schema1 manifest (<c>"schemaVersion": 1</c>).</summary>
    public static bool IsSchema1(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            return IsSchema1(document.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsSchema1(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("schemaVersion", out var version)
        && version.ValueKind == JsonValueKind.Number && version.TryGetInt32(out var number) && number == 1;

    private static Descriptor Describe(ReferenceKind kind, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new FormatException("descriptor is not a JSON object");
        long? size = element.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var value) ? value : null;
        var foreign = element.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0;
        return new Descriptor(kind, ValidDigest(String(element, "digest")), String(element, "mediaType"), size, foreign);
    }

    private static string ValidDigest(string? digest) =>
        ReferenceGrammar.IsDigest(digest) ? digest! : throw new FormatException($"descriptor digest is missing or invalid");

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
