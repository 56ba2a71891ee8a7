using System.Data.Common;
using Microsoft.Extensions.Options;
using RegistryIntegrity.Verifier.Api;

namespace RegistryIntegrity.Verifier.Forecast;

public static class GcForecastApi
{
    private static readonly string[] Parameters = ["mode", "version", "format"];

    /// <summary><c>GET /v1/gc-forecast?mode=plain|delete-untagged[&amp;version=2.8|3][&amp;format=json|text]</c>.</summary>
    public static IEndpointRouteBuilder MapGcForecastApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/gc-forecast", async (HttpRequest request, GcForecastService forecasts, IOptions<GcForecastOptions> options, CancellationToken cancellationToken) =>
        {
            if (Validate(request.Query, options.Value) is not { } parsed)
                return Problem(request.Query, options.Value);
            GcForecast forecast;
            try
            {
                forecast = await forecasts.ForecastAsync(parsed.Mode, parsed.Version, cancellationToken);
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: $"the verdict store cannot be read: {e.Message}");
            }
            return parsed.Text ? Results.Text(GcForecastText.Render(forecast), "text/plain; charset=utf-8") : Results.Ok(forecast);
        }).AddEndpointFilter(ApiTokens.Require(ApiAccess.Read));
        return routes;
    }

    private static (GcMode Mode, GcVersion Version, bool Text)? Validate(IQueryCollection query, GcForecastOptions options)
    {
        if (query.Keys.Any(k => !Parameters.Contains(k)) || query.Any(q => q.Value.Count != 1))
            return null;
        if (!GcForecaster.TryParseMode(query["mode"], out var mode))
            return null;
        var version = options.Version;
        if (query.ContainsKey("version") && !GcForecaster.TryParseVersion(query["version"], out version))
            return null;
        if (query.ContainsKey("format") && query["format"] != "json" && query["format"] != "text")
            return null;
        return (mode, version, query["format"] == "text");
    }

    private static IResult Problem(IQueryCollection query, GcForecastOptions options)
    {
        var unknown = query.Keys.Where(k => !Parameters.Contains(k)).Select(k => k.Length > 40 ? k[..40] + "..." : k).ToList();
        var detail = unknown.Count > 0 ? $"Unknown query parameter(s): {string.Join(", ", unknown)}. "
            : query.Any(q => q.Value.Count != 1) ? "Each query parameter may be given once. " : "";
        return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: detail +
            $"Query parameters: 'mode' (required): plain or delete-untagged; 'version': 2.8 or 3 (default {options.RegistryVersion}, GcForecast:RegistryVersion); 'format': json (default) or text.");
    }
}
