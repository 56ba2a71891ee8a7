using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Storage;

namespace RegistryIntegrity.Verifier.Api;

public static class StatusApi
{
    public static IEndpointRouteBuilder MapStatusApi(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup("/v1");
        v1.MapGet("/status", async (IVerdictStore store, CancellationToken cancellationToken) =>
            Results.Ok(await store.CountVerdictsAsync(cancellationToken)));
        v1.MapGet("/broken", async (IVerdictStore store, CancellationToken cancellationToken) =>
            Results.Ok(await store.ListBrokenAsync(cancellationToken)));
        v1.MapGet("/manifests", async (string? repository, string? digest, IVerdictStore store, CancellationToken cancellationToken) =>
        {
            if (!ReferenceGrammar.IsRepository(repository) || !ReferenceGrammar.IsDigest(digest))
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest,
                    detail: "Query parameters 'repository' (a repository name) and 'digest' (sha256:<64 hex>) are required.");
            var manifest = await store.GetManifestAsync(repository!, digest!, cancellationToken);
            if (manifest is null)
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: "This manifest has never been verified.");
            var history = await store.GetHistoryAsync(repository!, digest!, 50, cancellationToken);
            return Results.Ok(new { manifest, history });
        });
        return routes;
    }
}
