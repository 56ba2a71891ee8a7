using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Api;
using RegistryIntegrity.Verifier.Configuration;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>sweep</c> asks the running Verifier's API for a sweep of the whole registry and prints its id (<c>--wait</c>
/// follows it to the result); <c>backfill</c> does the same and shows progress until it completes. The running
/// Verifiers do the work and own the store: the CLI only talks to the API (<c>--server</c>, <c>Api:Server</c>,
/// or the first of <c>Urls</c>), with the first of <c>Api:Tokens</c> as its bearer token.
/// </summary>
internal static class SweepCommands
{
    /// <summary>0: completed, nothing broken; 1: completed, broken manifests exist; 2: failed or unreachable; 3: still running at --timeout.</summary>
    public const int Completed = 0, BrokenFound = 1, Failed = 2, TimedOut = 3;

    public static Command CreateSweep()
    {
        var wait = new Option<bool>("--wait") { Description = "Follow the sweep until it completes, then print the broken manifests." };
        var timeout = TimeoutOption();
        var server = ServerOption();
        var command = new Command("sweep", "Start a sweep of the whole registry now (e.g. after garbage-collect), or join the one running.") { wait, timeout, server };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () =>
            RunAsync(parse.GetValue(wait), parse.GetValue(timeout), parse.GetValue(server), parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration, cancellationToken)));
        return command;
    }

    public static Command CreateBackfill()
    {
        var timeout = TimeoutOption();
        var server = ServerOption();
        var command = new Command("backfill", "Enumerate and verify every repository and tag of the registry, showing progress.") { timeout, server };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () =>
            RunAsync(wait: true, parse.GetValue(timeout), parse.GetValue(server), parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration, cancellationToken)));
        return command;
    }

    private static Option<TimeSpan> TimeoutOption() => new("--timeout")
    {
        Description = "Give up following after this long (the sweep itself goes on).",
        DefaultValueFactory = _ => TimeSpan.FromHours(6),
    };

    internal static Option<string?> ServerOption() => new("--server")
    {
        Description = "The running Verifier's API, e.g. http://verifier:5090 (default: Api:Server, else the first of Urls).",
    };

    private static async Task<int> RunAsync(bool wait, TimeSpan timeout, string? server, string[] configArgs, InvocationConfiguration console, CancellationToken cancellationToken)
    {
        using var api = CreateApiClient(configArgs, server, console.Error);
        var output = console.Output;
        HttpResponseMessage response;
        try
        {
            response = await api.PostAsync("v1/sweeps", null, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            await console.Error.WriteLineAsync($"sweep: the Verifier's API at {api.BaseAddress} cannot be reached ({e.Message}); is the Verifier running? (--server)");
            return Failed;
        }
        if (response.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.OK))
        {
            await console.Error.WriteLineAsync($"sweep: {api.BaseAddress}v1/sweeps answered {(int)response.StatusCode}: {await ProblemAsync(response, cancellationToken)}");
            return Failed;
        }
        var sweep = (await response.Content.ReadFromJsonAsync<SweepView>(CommandLineHost.Json, cancellationToken))!;
        await output.WriteLineAsync(response.StatusCode == HttpStatusCode.OK ? $"sweep {sweep.Id} already running, joined" : $"sweep {sweep.Id} started");
        if (!wait)
            return Completed;
        return await FollowAsync(api, sweep.Id, timeout, console, cancellationToken);
    }

    /// <summary>An HTTP client for the API: server from --server, Api:Server or Urls; token from Api:Tokens:0.</summary>
    internal static HttpClient CreateApiClient(string[] configArgs, string? server, TextWriter error)
    {
        var configuration = CommandLineHost.CreateBuilder(configArgs).Configuration;
        CommandLineHost.CheckSettings(configuration, VerifierParts.Api, error);
        var options = configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new ApiOptions();
        Uri? given = null;
        if (server is not null && (!Uri.TryCreate(server, UriKind.Absolute, out given) || given.Scheme is not ("http" or "https")))
            throw new SettingsException([$"--server must be an absolute http(s) URL such as http://verifier:5090 (got '{server}')"]);
        var baseUri = given ?? options.Server ?? FirstUrl(configuration["Urls"])
            ?? throw new SettingsException(["no Verifier API to talk to: give --server http://verifier:5090, or set Api:Server"]);
        var http = new HttpClient { BaseAddress = new Uri(baseUri.AbsoluteUri.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (options.Tokens.FirstOrDefault() is { } token)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>The service's own listening address, reached over loopback when it listens on every interface.</summary>
    private static Uri? FirstUrl(string? urls)
    {
        var first = urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
            return null;
        foreach (var any in (string[])["://*", "://+", "://0.0.0.0", "://[::]"])
            first = first.Replace(any, "://127.0.0.1", StringComparison.Ordinal);
        return Uri.TryCreate(first, UriKind.Absolute, out var uri) ? uri : null;
    }

    private static async Task<int> FollowAsync(HttpClient api, Guid id, TimeSpan timeout, InvocationConfiguration console, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var interactive = console.Error == Console.Error && !Console.IsErrorRedirected;
        var lastLine = DateTimeOffset.MinValue;
        while (DateTimeOffset.UtcNow - started < timeout)
        {
            var response = await api.GetAsync($"v1/sweeps/{id}", cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await console.Error.WriteLineAsync($"sweep: GET v1/sweeps/{id} answered {(int)response.StatusCode}: {await ProblemAsync(response, cancellationToken)}");
                return Failed;
            }
            var progress = (await response.Content.ReadFromJsonAsync<SweepView>(CommandLineHost.Json, cancellationToken))!.Progress;
            var line = Describe(progress, DateTimeOffset.UtcNow);
            if (progress.Status is "completed" or "failed")
            {
                if (interactive)
                    await console.Error.WriteLineAsync();
                await console.Output.WriteLineAsync(line);
                return progress.Status == "completed" ? await ReportBrokenAsync(api, console.Output, cancellationToken) : Failed;
            }
            // Progress goes to stderr: stdout carries only the result.
            if (interactive)
                await console.Error.WriteAsync($"\r{line}   ");
            else if (DateTimeOffset.UtcNow - lastLine > TimeSpan.FromSeconds(5))
            {
                await console.Error.WriteLineAsync(line);
                lastLine = DateTimeOffset.UtcNow;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
        await console.Output.WriteLineAsync($"sweep {id} still running after {timeout}; follow it with GET /v1/sweeps/{id}");
        return TimedOut;
    }

    /// <summary>The result of a completed sweep: every manifest now broken, and exit 1 when there is any (like <c>check</c>).</summary>
    private static async Task<int> ReportBrokenAsync(HttpClient api, TextWriter output, CancellationToken cancellationToken)
    {
        var broken = new List<ManifestVerdict>();
        for (string? page = "v1/broken"; page is not null;)
        {
            using var response = await api.GetAsync(page, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await output.WriteLineAsync($"the broken manifests could not be listed: GET {page} answered {(int)response.StatusCode}");
                return Failed;
            }
            broken.AddRange((await response.Content.ReadFromJsonAsync<List<ManifestVerdict>>(CommandLineHost.Json, cancellationToken))!);
            page = Paging.NextPage(response);
        }
        if (broken.Count == 0)
        {
            await output.WriteLineAsync("no broken manifests");
            return Completed;
        }
        await output.WriteLineAsync($"BROKEN {broken.Count} manifest(s):");
        foreach (var manifest in broken)
        {
            var tags = manifest.Tags.Count > 0 ? $" ({string.Join(", ", manifest.Tags)})" : "";
            await output.WriteLineAsync($"  {manifest.Repository}@{manifest.Digest}{tags}: {manifest.Missing.Count} missing");
        }
        return BrokenFound;
    }

    internal static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var problem = JsonDocument.Parse(body);
            if (problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String)
                return detail.GetString()!;
        }
        catch (JsonException)
        {
        }
        return response.ReasonPhrase ?? "no reason given";
    }

    private sealed record SweepView(Guid Id, string Status, SweepProgress Progress);

    internal static string Describe(SweepProgress progress, DateTimeOffset now)
    {
        if (progress.CatalogError is not null)
            return $"sweep {progress.Id} failed: {progress.CatalogError}";
        var elapsed = (progress.CompletedAt ?? now) - progress.StartedAt;
        var rate = elapsed.TotalSeconds > 0 ? progress.ManifestsChecked / elapsed.TotalSeconds : 0;
        var total = progress.RepositoriesTotal?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";
        var eta = progress.RepositoriesTotal is { } all && progress.RepositoriesDone > 0 && progress.CompletedAt is null
            ? $", ETA {TimeSpan.FromSeconds(Math.Round(elapsed.TotalSeconds / progress.RepositoriesDone * (all - progress.RepositoriesDone)))}"
            : "";
        return $"sweep {progress.Status}: repositories {progress.RepositoriesDone}/{total}, tags {progress.TagsSeen}, " +
               $"manifests {progress.ManifestsChecked} ({rate:F1}/s), {elapsed.TotalSeconds:F1} s{eta}";
    }
}
