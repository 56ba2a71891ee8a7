using System.ComponentModel.DataAnnotations;

namespace RegistryIntegrity.Verifier.RegistryStorage;

/// <summary><c>RegistryStorage:*</c>: where the registry's filesystem storage is, when the Verifier may read it.</summary>
public sealed class RegistryStorageOptions
{
    public const string SectionName = "RegistryStorage";

    /// <summary>
    /// The filesystem driver's <c>rootdirectory</c> (the folder holding <c>docker/registry/v2</c>), mounted read-only.
    /// When set, sweeps read the storage instead of the registry's API.
    /// </summary>
    public string? Root { get; set; }

    /// <summary>Repositories scanned at once.</summary>
    [Range(1, 64)]
    public int ConcurrentRepositories { get; set; } = 4;

    /// <summary>A manifest's data longer than this is not read (indeterminate), as <c>Registry:MaxManifestBytes</c>.</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;
}
