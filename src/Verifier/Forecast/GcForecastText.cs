using System.Globalization;
using System.Text;

namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>The forecast as a table for people: the API's <c>format=text</c>, the verb's default output, the GC wrapper's refusal.</summary>
public static class GcForecastText
{
    private const int ObjectsPerImage = 10;

    public static string Render(GcForecast forecast)
    {
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        var flag = forecast.Mode == "plain" ? "" : " --delete-untagged";
        Line($"result: {forecast.Result}");
        Line($"forecast of `garbage-collect{flag}` on distribution {forecast.Version}, from the {forecast.Source}, at {forecast.ComputedAt.ToString("u", CultureInfo.InvariantCulture)}");
        foreach (var gap in forecast.Gaps)
            Line($"INCOMPLETE: {gap}");
        if (forecast.GcFailure is { } failure)
            Line($"GC WOULD FAIL (and delete nothing): {failure}");
        var s = forecast.Summary;
        Line($"{s.TaggedImagesBroken} of {s.TaggedImages} tagged image(s) would break, and {s.ReferencedImagesBroken} image(s) they reference; " +
             $"{s.TaggedImagesAlreadyBroken} tagged image(s) broken already; would delete {s.ManifestsDeleted} manifest(s), {s.BlobsDeleted} blob(s), {s.ReferrersDeleted} referrer(s)");
        foreach (var image in forecast.Images.OrderBy(i => Rank(i.Status)).ThenBy(i => i.Tag is null).ThenBy(i => i.Repository, StringComparer.Ordinal))
        {
            var name = image.Tag is { } tag ? $"{image.Repository}:{tag} ({image.Digest})" : $"{image.Repository}@{image.Digest} (referenced by {image.ReferencedFrom[0]}{(image.ReferencedFrom.Count > 1 ? $" and {image.ReferencedFrom.Count - 1} more" : "")})";
            Line($"{Label(image.Status)} {name}");
            Objects(image.Breaks, "loses");
            Objects(image.AlreadyMissing, "lacks");
            Objects(image.LostReferrers, "loses referrer");
        }
        return text.ToString();

        void Objects(IReadOnlyList<ForecastObject> objects, string verb)
        {
            foreach (var o in objects.Take(ObjectsPerImage))
                Line($"    {verb} {o.Kind} {string.Join(" -> ", o.Path)}: {o.Reason}");
            if (objects.Count > ObjectsPerImage)
                Line($"    ... and {objects.Count - ObjectsPerImage} more");
        }
    }

    private static int Rank(string status) => status switch { "breaks" => 0, "already-broken" => 1, _ => 2 };

    private static string Label(string status) => status switch
    {
        "breaks" => "BREAKS",
        "already-broken" => "ALREADY BROKEN",
        _ => "KEEPS (loses referrers)",
    };
}
