using RegistryIntegrity.Verifier.Storage;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Api;

public static class SweepApi
{
    public static IEndpointRouteBuilder MapSweepApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/sweeps", async (SweepRequester requester, ISweepStore sweeps, CancellationToken cancellationToken) =>
        {
            var id = await requester.RequestAsync("api", cancellationToken);
            return Results.Accepted($"/v1/sweeps/{id}", await sweeps.GetSweepAsync(id, cancellationToken));
        });
        routes.MapGet("/v1/sweeps/{id}", async (string id, ISweepStore sweeps, CancellationToken cancellationToken) =>
        {
            if (!Guid.TryParse(id, out var sweepId))
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "The sweep id is a UUID.");
            return await sweeps.GetSweepAsync(sweepId, cancellationToken) is { } progress
                ? Results.Ok(new { progress, progress.Status })
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: "No such sweep.");
        });
        return routes;
    }
}
