using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>A sweep through the registry's HTTP API: the catalog and tag listings (every page), tags resolved by HEAD.</summary>
public sealed class RegistrySweepSource(RegistryClient registry, ManifestWalker walker, IOptions<SweepOptions> options) : ISweepSource
{
    private const int MaxCatalogPages = 100_000;
    private const int MaxTagPages = 100_000;

    public async Task<(IReadOnlyList<string> Repositories, string? Error)> ListRepositoriesAsync(CancellationToken cancellationToken)
    {
        var catalog = new List<string>();
        string? next = null;
        for (var page = 0; page < MaxCatalogPages; page++)
        {
            var result = await registry.ListRepositoriesAsync(next, options.Value.CatalogPageSize, cancellationToken);
            if (result.Probe.Outcome != ProbeOutcome.Present)
                return ([], $"{(page == 0 ? "catalog inaccessible" : $"catalog incomplete after {page} page(s)")}: {result.Probe.Reason} ({result.Probe.StatusCode} {result.Probe.ErrorCode})");
            catalog.AddRange(result.Names.Where(ReferenceGrammar.IsRepository));
            next = result.Next;
            if (next is null)
                break;
        }
        return (catalog, null);
    }

    public async Task<(List<string> Tags, string? Problem, bool NoTagsDirectory)> ListTagsAsync(string repository, CancellationToken cancellationToken)
    {
        var tags = new List<string>();
        string? next = null;
        for (var page = 0; page < MaxTagPages; page++)
        {
            var result = await registry.ListTagsAsync(repository, next, cancellationToken);
            switch (result.Probe.Outcome)
            {
                case ProbeOutcome.Missing:
                    return ([], null, true); // the repository is gone: every tag vanished
                case ProbeOutcome.Indeterminate:
                    return (tags, $"tag listing failed: {result.Probe.Reason} ({result.Probe.StatusCode})", false);
            }
            tags.AddRange(result.Names.Where(ReferenceGrammar.IsTag));
            next = result.Next;
            if (next is null)
                return (tags.Distinct(StringComparer.Ordinal).ToList(), null, false);
        }
        return (tags, $"more than {MaxTagPages} tag pages", false);
    }

    public Task<(string? Digest, ProbeResult Probe)> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken) =>
        registry.ResolveTagAsync(repository, tag, cancellationToken);

    public IProbeSource CreateProbes(string repository) => walker.CreateCache(repository);
}
