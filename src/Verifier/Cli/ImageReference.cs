using RegistryIntegrity.Contracts;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// An image reference as users write it for docker, crane or skopeo: <c>[http(s)://][registry/]repository[:tag][@digest]</c>.
/// Without a registry part (a first component with no '.' or ':' and not <c>localhost</c>) it names Docker Hub,
/// and a single-component name lives under <c>library/</c>; a digest wins over a tag; no tag means <c>latest</c>.
/// Without a scheme a loopback registry (<c>localhost</c>, 127.0.0.0/8, <c>[::1]</c>) is spoken to over plain HTTP,
/// as docker allows; any other over HTTPS.
/// </summary>
/// <param name="PlainHttp">True for an <c>http://</c> prefix, false for <c>https://</c>, null when not said.</param>
public sealed record ImageReference(string Registry, string Repository, string Reference, bool? PlainHttp = null)
{
    /// <summary>Docker Hub's registry API host (what <c>docker.io</c> means).</summary>
    public const string DockerHub = "registry-1.docker.io";

    /// <summary><c>localhost</c>, an address of 127.0.0.0/8 or <c>[::1]</c>, with or without a port.</summary>
    public bool IsLoopback
    {
        get
        {
            var host = new Uri($"https://{Registry}/").Host.Trim('[', ']');
            return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                   || (System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address));
        }
    }

    /// <summary>
    /// Whether to speak plain HTTP: the reference's scheme when it has one, else <c>--plain-http</c>, else
    /// plain HTTP for a loopback registry only.
    /// </summary>
    public bool UsesPlainHttp(bool plainHttpOption) => PlainHttp ?? (plainHttpOption || IsLoopback);

    public static bool TryParse(string? value, out ImageReference? reference, out string error)
    {
        reference = null;
        error = "";
        if (string.IsNullOrWhiteSpace(value) || value.Length > 1024 || value.Any(char.IsWhiteSpace))
        {
            error = "expected [<registry>/]<repository>[:<tag>][@<digest>]";
            return false;
        }
        bool? plainHttp = null;
        foreach (var (scheme, plain) in new[] { ("http://", true), ("https://", false) })
        {
            if (value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
                (value, plainHttp) = (value[scheme.Length..].TrimEnd('/'), plain);
        }

        string name, target;
        var at = value.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            (name, target) = (value[..at], value[(at + 1)..]);
            if (!ReferenceGrammar.IsDigest(target))
            {
                error = $"'{target}' is not a sha256 or sha512 digest";
                return false;
            }
            // host/repo:tag@digest: the digest wins, as docker pull does; the tag is only checked for form.
            var tagColon = name.LastIndexOf(':');
            if (tagColon > name.LastIndexOf('/') && tagColon >= 0)
            {
                if (!ReferenceGrammar.IsTag(name[(tagColon + 1)..]))
                {
                    error = $"'{name[(tagColon + 1)..]}' is not a valid tag";
                    return false;
                }
                name = name[..tagColon];
            }
        }
        else
        {
            var colon = value.LastIndexOf(':');
            (name, target) = colon > value.LastIndexOf('/') && colon >= 0 ? (value[..colon], value[(colon + 1)..]) : (value, "latest");
            if (!ReferenceGrammar.IsTag(target))
            {
                error = $"'{target}' is not a valid tag";
                return false;
            }
        }

        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var first = slash > 0 ? name[..slash] : null;
        string registry, repository;
        if (first is not null && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"))
            (registry, repository) = (first, name[(slash + 1)..]);
        else
            (registry, repository) = (DockerHub, slash > 0 ? name : $"library/{name}");
        if (registry is "docker.io" or "index.docker.io")
            registry = DockerHub;

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
        reference = new ImageReference(registry, repository, target, plainHttp);
        return true;
    }
}
