using RegistryIntegrity.Contracts;
using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Listener.StorageWatcher;

/// <summary>
/// What a removed path under <c>docker/registry/v2</c> meant. A removed directory and the files in it map to
/// the same object (<c>revisions/sha256/&lt;hex&gt;</c> and its <c>link</c>); containers (<c>blobs/sha256/ab</c>,
/// a whole repository) map to nothing: their contents were reported one by one as they went.
/// </summary>
public static class RemovedPathClassifier
{
    /// <returns>The kind and identity (repository, digest or tag), or null when the path is not one the watcher reports.</returns>
    public static (string Kind, string? Repository, string? Digest, string? Tag)? Classify(string relativePath)
    {
        var parts = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
            return null;
        if (parts[0] == "blobs")
        {
            // blobs/<alg>/<xx>/<hex>[/data]
            if (parts.Length is 4 or 5 && (parts.Length == 4 || parts[4] == "data") && Digest(parts[1], parts[3]) is { } blob && parts[2] == parts[3][..Math.Min(2, parts[3].Length)])
                return (RemovedObjectKinds.Blob, null, blob, null);
            return null;
        }
        if (parts[0] != "repositories")
            return null;
        var marker = Array.FindIndex(parts, 1, p => p.StartsWith('_'));
        if (marker < 2)
            return null;
        var repository = string.Join('/', parts[1..marker]);
        if (!ReferenceGrammar.IsRepository(repository))
            return null;
        var rest = parts[marker..];
        return rest switch
        {
            // _manifests/revisions/<alg>/<hex>[/link]
            ["_manifests", "revisions", var alg, var hex, .. var tail] when tail is [] or ["link"] && Digest(alg, hex) is { } digest =>
                (RemovedObjectKinds.Revision, repository, digest, null),
            // _manifests/tags/<tag>, its current/ folder or current/link: the tag no longer resolves. Its index/ entries do not matter.
            ["_manifests", "tags", var tag, .. var tail] when tail is [] or ["current"] or ["current", "link"] && ReferenceGrammar.IsTag(tag) =>
                (RemovedObjectKinds.Tag, repository, null, tag),
            // _layers/<alg>/<hex>[/link]
            ["_layers", var alg, var hex, .. var tail] when tail is [] or ["link"] && Digest(alg, hex) is { } digest =>
                (RemovedObjectKinds.LayerLink, repository, digest, null),
            _ => null,
        };
    }

    private static string? Digest(string algorithm, string hex)
    {
        var digest = $"{algorithm}:{hex}";
        return ReferenceGrammar.IsDigest(digest) ? digest : null;
    }
}
