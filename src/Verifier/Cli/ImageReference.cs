using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary><c>&lt;registry&gt;/&lt;repository&gt;(:&lt;tag&gt;|@&lt;digest&gt;)</c>, as given to the <c>check</c> verb.</summary>
public sealed record ImageReference(string Registry, string Repository, string Reference)
{
    public static bool TryParse(string? value, out ImageReference? reference, out string error)
    {
        reference = null;
        error = "";
        if (string.IsNullOrWhiteSpace(value) || value.Length > 1024)
        {
            error = "expected <registry>/<repository>(:<tag>|@<digest>)";
            return false;
        }
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            error = "the reference must start with the registry host, e.g. 127.0.0.1:5000/team/app:v1";
            return false;
        }
        var registry = value[..slash];
        var rest = value[(slash + 1)..];
        string repository, target;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            (repository, target) = (rest[..at], rest[(at + 1)..]);
            if (!ReferenceGrammar.IsDigest(target))
            {
                error = $"'{target}' is not a sha256 or sha512 digest";
                return false;
            }
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            (repository, target) = colon > rest.LastIndexOf('/') && colon >= 0 ? (rest[..colon], rest[(colon + 1)..]) : (rest, "latest");
            if (!ReferenceGrammar.IsTag(target))
            {
                error = $"'{target}' is not a valid tag";
                return false;
            }
        }
        if (!ReferenceGrammar.IsRepository(repository))
        {
            error = $"'{repository}' is not a valid repository name";
            return false;
        }
        if (!Uri.TryCreate($"https://{registry}/", UriKind.Absolute, out var uri) || uri.Authority != registry.ToLowerInvariant())
        {
            error = $"'{registry}' is not a registry host[:port]";
            return false;
        }
        reference = new ImageReference(registry, repository, target);
        return true;
    }
}
