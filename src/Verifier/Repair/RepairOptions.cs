using System.ComponentModel.DataAnnotations;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>Where a broken image's missing objects can be copied from (<c>Repair</c> section).</summary>
public sealed class RepairOptions
{
    public const string SectionName = "Repair";

    /// <summary>Registries that still hold the objects (a mirror, a backup, the upstream of a pull-through cache, a replica), asked in order.</summary>
    public List<RepairSource> Sources { get; set; } = [];

    /// <summary>Blobs up to this size are uploaded in one PUT; larger ones in PATCH chunks of this size (each within Registry:RequestTimeout).</summary>
    [Range(64 * 1024, 1024 * 1024 * 1024)]
    public int ChunkBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Broken manifests one <c>repair</c> run or <c>POST /v1/repairs</c> handles at most.</summary>
    [Range(1, 100_000)]
    public int MaxManifests { get; set; } = 1000;
}

/// <summary>
/// One source registry: the Verifier's registry settings (<c>BaseUrl</c>, <c>Username</c>/<c>Password</c> or their
/// <c>*File</c>, <c>CaCertificateFile</c>, <c>RequestTimeout</c>: the same authentication support), a name and an
/// optional repository mapping.
/// </summary>
public sealed class RepairSource : RegistryOptions
{
    /// <summary>Named in reports and audit lines (default: the host).</summary>
    public string? Name { get; set; }

    /// <summary>Repository here = repository there, each written <c>team/app=library/app</c>; unmapped repositories have the same name there.</summary>
    public List<string> RepositoryMap { get; set; } = [];

    public string DisplayName => Name ?? BaseUrl?.Authority ?? "source";

    /// <summary>The repository that holds <paramref name="repository"/>'s objects in this source.</summary>
    public string MapRepository(string repository)
    {
        foreach (var entry in RepositoryMap)
        {
            var (here, there) = SplitMapping(entry);
            if (here == repository)
                return there!;
        }
        return repository;
    }

    internal static (string? Here, string? There) SplitMapping(string entry)
    {
        var equals = entry.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? (null, null) : (entry[..equals].Trim(), entry[(equals + 1)..].Trim());
    }
}
