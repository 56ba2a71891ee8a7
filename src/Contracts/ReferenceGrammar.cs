using System.Text.RegularExpressions;

namespace RegistryIntegrity.Contracts;

/// <summary>
/// distribution's reference grammar (reference/regexp.go) for repository names, tags and digests.
/// Both services use it: the Listener to validate events, the Verifier to build request paths
/// only from names that cannot escape the <c>/v2/&lt;name&gt;/</c> prefix.
/// </summary>
public static partial class ReferenceGrammar
{
    public const int MaxRepositoryLength = 255;

    public static bool IsRepository(string? value) =>
        value is { Length: > 0 and <= MaxRepositoryLength } && RepositoryRegex().IsMatch(value);

    public static bool IsTag(string? value) => value is not null && TagRegex().IsMatch(value);

    /// <summary>Known algorithms with their hex lengths: sha256 (64) and sha512 (128).</summary>
    public static bool IsDigest(string? value) => value is not null && DigestRegex().IsMatch(value);

    // name := [domain-and-port "/"] path-component ("/" path-component)*, as distribution/reference's
    // regexp.go: the first component may be a domain (uppercase letters, a port, an IPv6 literal in
    // brackets), e.g. "MyOrg/app" or "host:5000/app", which the registry accepts as a repository name.
    [GeneratedRegex(
        @"\A(?:(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?/)?"
        + @"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\z",
        RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryRegex();

    [GeneratedRegex(@"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"\A(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})\z", RegexOptions.CultureInvariant)]
    private static partial Regex DigestRegex();
}
