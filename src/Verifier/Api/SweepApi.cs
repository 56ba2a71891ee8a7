using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Api;

public static class SweepApi
{
    /// <summary>How long <c>POST /v1/sweeps</c> waits for the broker before answering 503.</summary>
    private static readonly TimeSpan QueueTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapSweepApi(this IEndpointRouteBuilder routes)
    {
        // 202 and a new sweep, or 200 and the sweep already running (one at a time per registry).
        routes.MapPost("/v1/sweeps", async (SweepRequester requester, CancellationToken cancellationToken) =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(QueueTimeout);
            try
            {
                var (sweep, started) = await requester.RequestOrJoinAsync("api", timeout.Token);
                return started ? Results.Accepted($"/v1/sweeps/{sweep.Id}", View(sweep)) : Results.Ok(View(sweep));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                    detail: e is OperationCanceledException ? $"the sweep could not be queued within {QueueTimeout.TotalSeconds} s (broker unreachable?)" : $"the sweep could not be queued: {e.Message}");
            }
        }).AddEndpointFilter(ApiTokens.Require(ApiAccess.Write));
        routes.MapGet("/v1/sweeps", async (string? limit, ISweepStore sweeps, CancellationToken cancellationToken) =>
        {
            var (count, problem) = Paging.ParseLimit(limit, defaultLimit: 20, maxLimit: 1000);
            return problem ?? Results.Ok((await sweeps.ListSweepsAsync(count, cancellationToken)).Select(View));
        }).AddEndpointFilter(ApiTokens.Require(ApiAccess.Read));
        routes.MapGet("/v1/sweeps/{id}", async (string id, ISweepStore sweeps, CancellationToken cancellationToken) =>
        {
            if (!Guid.TryParse(id, out var sweepId))
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "The sweep id is a UUID.");
            return await sweeps.GetSweepAsync(sweepId, cancellationToken) is { } progress
                ? Results.Ok(View(progress))
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: "No such sweep.");
        }).AddEndpointFilter(ApiTokens.Require(ApiAccess.Read));
        return routes;
    }

    /// <summary>The one shape POST and GET answer with.</summary>
    private static object View(SweepProgress progress) => new { progress.Id, progress.Status, progress };
}
