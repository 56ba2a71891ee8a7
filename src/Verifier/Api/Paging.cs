using System.Text;
using RegistryIntegrity.Verifier.Store;

namespace RegistryIntegrity.Verifier.Api;

/// <summary>
/// Lists are paged like the registry's own catalog: <c>?limit=</c> items, and while more follow, a
/// <c>Link: &lt;...&amp;cursor=...&gt;; rel="next"</c> header whose cursor is opaque to clients.
/// </summary>
public static class Paging
{
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 10_000;

    /// <summary>The page size asked for, or a problem to answer with 400.</summary>
    public static (int Limit, IResult? Problem) ParseLimit(string? limit, int defaultLimit = DefaultLimit, int maxLimit = MaxLimit)
    {
        if (limit is null)
            return (defaultLimit, null);
        return int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
               && value >= 1 && value <= maxLimit
            ? (value, null)
            : (0, BadRequest($"Query parameter 'limit' must be a whole number from 1 to {maxLimit}."));
    }

    /// <summary>A cursor is a section name and a key of two parts, e.g. ("m", repository, digest).</summary>
    public static string Encode(string section, PageKey key) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{section}\n{key.Repository}\n{key.Name}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The section and key a cursor of this server names, or a problem to answer with 400.</summary>
    public static (string? Section, PageKey? Key, IResult? Problem) Decode(string? cursor, params string[] sections)
    {
        if (cursor is null)
            return (null, null, null);
        var invalid = BadRequest("Query parameter 'cursor' is not one this server issued: follow the Link header of the previous page.");
        if (cursor.Length > 1024)
            return (null, null, invalid);
        var base64 = cursor.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, bytes, out var written))
            return (null, null, invalid);
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return (null, null, invalid);
        }
        return text.Split('\n') is [var section, var repository, var name] && sections.Contains(section) && repository.Length > 0 && name.Length > 0
            ? (section, new PageKey(repository, name), null)
            : (null, null, invalid);
    }

    /// <summary>Adds the <c>Link</c> header to the next page: the same request with the new cursor.</summary>
    public static void LinkNext(HttpContext context, int limit, string cursor)
    {
        var query = context.Request.Query
            .Where(q => q.Key is not ("cursor" or "limit"))
            .Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}")
            .Append($"limit={limit}")
            .Append($"cursor={cursor}");
        context.Response.Headers.Append("Link", $"<{context.Request.PathBase}{context.Request.Path}?{string.Join('&', query)}>; rel=\"next\"");
    }

    /// <summary>The path and query of the next page named by a response's <c>Link</c> header, or null on the last page.</summary>
    public static string? NextPage(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
            return null;
        foreach (var link in links)
        {
            var end = link.IndexOf('>', StringComparison.Ordinal);
            if (link.StartsWith('<') && end > 1 && link[end..].Contains("rel=\"next\"", StringComparison.Ordinal))
                return link[1..end].TrimStart('/');
        }
        return null;
    }

    private static IResult BadRequest(string detail) => Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: detail);
}
