using System.ComponentModel.DataAnnotations;

namespace RegistryIntegrity.Verifier.Registry;

public enum BlobCheckMethod
{
    /// <summary><c>GET</c> with <c>Range: bytes=0-0</c>: cannot be fooled by the registry's blob-descriptor cache after GC.</summary>
    RangedGet,

    /// <summary><c>HEAD</c>: half the cost, but answers 200 for a swept blob while the registry's cache remembers it.</summary>
    Head,
}

public class RegistryOptions
{
    public const string SectionName = "Registry";

    /// <summary>The registry's base URL. Requests go only here, never to a URL taken from an event.</summary>
    [Required]
    public Uri? BaseUrl { get; set; }

    /// <summary>Used for HTTP Basic and, on a token-auth registry, to obtain tokens from its realm.</summary>
    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>A file holding the username (a mounted Kubernetes secret); re-read when it changes.</summary>
    public string? UsernameFile { get; set; }

    /// <summary>A file holding the password (a mounted Kubernetes secret); re-read when it changes.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>PEM bundle of CA certificates trusted for the registry and its token realm, instead of the system store.</summary>
    public string? CaCertificateFile { get; set; }

    public BlobCheckMethod BlobCheck { get; set; } = BlobCheckMethod.RangedGet;

    /// <summary>Requests in flight to the registry at once. It saturates near 8 connections.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Requests per second the Verifier may send to the registry (token bucket); 0 for no budget.</summary>
    [Range(0, 100_000)]
    public int MaxRequestsPerSecond { get; set; } = 300;

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Manifest bodies larger than this are refused.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;
}
