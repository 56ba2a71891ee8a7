using System.Text.Json;
using RegistryIntegrity.Verifier.Api;

namespace RegistryIntegrity.Verifier.Repair;

public static class RepairApi
{
    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>
    /// <c>POST /v1/repairs</c> <c>{"repository","digest"|"tag","all","apply"}</c>: a dry run unless <c>apply</c> is true.
    /// Answers when the run is done with every manifest's report; one repair runs at a time (409 while one does).
    /// </summary>
    public static IEndpointRouteBuilder MapRepairApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/repairs", async (HttpRequest http, RepairService repairs, RepairGate gate, ApiTokens tokens, CancellationToken cancellationToken) =>
        {
            var (request, problem) = await ReadAsync(http, cancellationToken);
            if (request is null)
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: problem);
            if (request.Problems() is { Count: > 0 } problems)
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: string.Join("; ", problems));
            // A repair writes to the registry with its push credentials: never for whoever reaches an open port.
            if (request.Apply && !tokens.Configured)
                return Results.Problem(statusCode: StatusCodes.Status403Forbidden,
                    detail: "a repair with apply needs Api:Tokens set and one of them as bearer token (dry runs and the repair verb do not)");
            if (!gate.TryEnter())
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, detail: "a repair is running; ask again when it is done");
            try
            {
                var run = await repairs.RunAsync(request, progress: null, cancellationToken);
                return Results.Ok(new { run.Result, run.ExitCode, run.Applied, run.ObjectsCopied, run.BytesCopied, run.Problems, run.Manifests });
            }
            finally
            {
                gate.Exit();
            }
        }).AddEndpointFilter(ApiTokens.Require(ApiAccess.Write));
        return routes;
    }

    private static async Task<(RepairRequest?, string)> ReadAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        const string expected = "expected a JSON object such as {\"repository\":\"team/app\",\"digest\":\"sha256:...\",\"apply\":true} or {\"all\":true}";
        if (http.ContentLength > MaxBodyBytes)
            return (null, $"the body is larger than {MaxBodyBytes} bytes");
        if (http.HasJsonContentType() == false && http.ContentLength is > 0)
            return (null, $"Content-Type must be application/json; {expected}");
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await http.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
                return (null, $"the body is larger than {MaxBodyBytes} bytes");
        }
        if (buffer.Length == 0)
            return (null, $"the body is empty: {expected}");
        try
        {
            using var document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, $"the body is not a JSON object: {expected}");
            var known = new[] { "repository", "digest", "tag", "all", "apply" };
            if (root.EnumerateObject().Select(p => p.Name).FirstOrDefault(name => !known.Contains(name)) is { } unknown)
                return (null, $"unknown field '{new string([.. unknown.Take(40).Select(c => char.IsControl(c) ? '?' : c)])}': {expected}");
            return (new RepairRequest(Text(root, "repository"), Text(root, "digest"), Text(root, "tag"), Flag(root, "all"), Flag(root, "apply")), "");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return (null, $"the body is not valid JSON of the expected shape ({e.Message.Split('\n')[0]}): {expected}");
        }
    }

    private static string? Text(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new InvalidOperationException($"'{name}' must be a string");

    private static bool Flag(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw new InvalidOperationException($"'{name}' must be true or false"),
        };
}

/// <summary>One repair at a time per Verifier: two runs over the same image would copy the same objects twice.</summary>
public sealed class RepairGate
{
    private readonly SemaphoreSlim _running = new(1, 1);

    public bool TryEnter() => _running.Wait(0);

    public void Exit() => _running.Release();
}
