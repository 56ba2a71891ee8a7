using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Cli;

namespace RegistryIntegrity.Verifier.Forecast;

/// <summary>
/// <c>gc-forecast</c>: asks the running Verifier what the next <c>garbage-collect</c> would break. Table by default,
/// <c>--json</c> for the API's document. Exit 0 when nothing tagged would break, 1 when something would, 2 when the
/// graph is incomplete or the API could not answer, 64 on a usage error.
/// </summary>
internal static class GcForecastCommand
{
    public const int Safe = 0, WouldBreak = 1, Unknown = 2;

    public static Command Create()
    {
        var mode = new Option<string>("--mode")
        {
            Description = "plain or delete-untagged (garbage-collect -m).",
            DefaultValueFactory = _ => "delete-untagged",
        };
        mode.AcceptOnlyFromAmong("plain", "delete-untagged");
        var version = new Option<string?>("--registry-version")
        {
            Description = "The registry's version family, 2.8 or 3 (default: the Verifier's GcForecast:RegistryVersion).",
        };
        version.AcceptOnlyFromAmong("2.8", "3");
        var json = new Option<bool>("--json") { Description = "Print the forecast as JSON (GET /v1/gc-forecast)." };
        var server = SweepCommands.ServerOption();
        var command = new Command("gc-forecast", "Say which tagged images the next garbage-collect would break, before it runs.") { mode, version, json, server };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () => RunAsync(
            parse.GetValue(mode)!, parse.GetValue(version), parse.GetValue(json), parse.GetValue(server), parse.UnmatchedTokens.ToArray(),
            parse.InvocationConfiguration, cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(
        string mode, string? version, bool json, string? server, string[] configArgs, InvocationConfiguration console, CancellationToken cancellationToken)
    {
        using var api = SweepCommands.CreateApiClient(configArgs, server, console.Error);
        var query = $"v1/gc-forecast?mode={mode}{(version is null ? "" : $"&version={version}")}";
        HttpResponseMessage response;
        try
        {
            response = await api.GetAsync(query, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync($"gc-forecast: the Verifier's API at {api.BaseAddress} cannot be reached ({e.Message}); is the Verifier running? (--server)");
            return Unknown;
        }
        if (!response.IsSuccessStatusCode)
        {
            await console.Error.WriteLineAsync($"gc-forecast: {api.BaseAddress}{query} answered {(int)response.StatusCode}: {await SweepCommands.ProblemAsync(response, cancellationToken)}");
            return Unknown;
        }
        GcForecast forecast;
        try
        {
            forecast = (await response.Content.ReadFromJsonAsync<GcForecast>(CommandLineHost.Json, cancellationToken))!;
        }
        catch (JsonException e)
        {
            await console.Error.WriteLineAsync($"gc-forecast: the answer of {api.BaseAddress}{query} is not a forecast ({e.Message})");
            return Unknown;
        }
        await console.Output.WriteAsync(json ? JsonSerializer.Serialize(forecast, CommandLineHost.Json) + "\n" : GcForecastText.Render(forecast));
        return forecast.ExitCode;
    }
}
