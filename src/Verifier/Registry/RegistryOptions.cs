using System.ComponentModel.DataAnnotations;

namespace RegistryIntegrity.Verifier.Registry;

public enum BlobCheckMethod
{
    /// <summary><c>GET</c> with <c>Range: bytes=0-0</c>: cannot be fooled by the registry's blob-descriptor cache after GC.</summary>
    RangedGet,

    /// <summary><c>HEAD</c>: half the cost, but answers 200 for a swept blob while the registry's cache remembers it.</summary>
    Head,
}

public sealed class RegistryOptions
{
    public const string SectionName = "Registry";

    /// <summary>The registry's base URL. Requests go only here, never to a URL taken from an event.</summary>
    [Required]
    public Uri? BaseUrl { get; set; }

    public string? Username { get; set; }
    public string? Password { get; set; }

    public BlobCheckMethod BlobCheck { get; set; } = BlobCheckMethod.RangedGet;

    /// <summary>Requests in flight to the registry at once. It saturates near 8 connections.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 8;

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Manifest bodies larger than this are refused.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;
}
