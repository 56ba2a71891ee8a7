using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <param name="Repositories">Every valid repository name the catalog listed, in its order.</param>
/// <param name="Error">Set when the catalog could not be read to its end: the listing is then unusable.</param>
public sealed record CatalogListing(IReadOnlyList<string> Repositories, string? Error);

/// <summary>Reads the registry's whole catalog, every page.</summary>
public sealed class SweepCatalog(RegistryClient registry, IOptions<SweepOptions> options)
{
    private const int MaxCatalogPages = 100_000;

    public async Task<CatalogListing> ListAsync(CancellationToken cancellationToken)
    {
        var catalog = new List<string>();
        string? next = null;
        for (var page = 0; page < MaxCatalogPages; page++)
        {
            var result = await registry.ListRepositoriesAsync(next, options.Value.CatalogPageSize, cancellationToken);
            if (result.Probe.Outcome != ProbeOutcome.Present)
            {
                // A catalog cut short is as unusable as none: reconciling from it would drop every repository after the cut.
                return new CatalogListing([], $"{(page == 0 ? "catalog inaccessible" : $"catalog incomplete after {page} page(s)")}: {result.Probe.Reason} ({result.Probe.StatusCode} {result.Probe.ErrorCode})");
            }
            catalog.AddRange(result.Names.Where(ReferenceGrammar.IsRepository));
            next = result.Next;
            if (next is null)
                break;
        }
        return new CatalogListing(catalog, null);
    }
}
