using RegistryIntegrity.Verifier.Forecast;
using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.RegistryStorage;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>gc-forecast</c>: asks the running Verifier what the next <c>garbage-collect</c> would break. Table by default,
/// <c>--json</c> for the API's document. Exit 0 when nothing tagged would break, 1 when something would, 2 when the
/// graph is incomplete or the API could not answer, 64 on a usage error. With <c>--storage-root</c> (or
/// <c>RegistryStorage:Root</c> and no <c>--server</c>) it reads the registry's storage itself: the exact forecast.
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
        var storageRoot = new Option<string?>("--storage-root")
        {
            Description = "Forecast here, exactly, from the registry's storage (the filesystem driver's rootdirectory, holding docker/registry/v2) " +
                          "instead of asking the Verifier (default: RegistryStorage:Root when set and no --server is given).",
        };
        var command = new Command("gc-forecast", "Say which tagged images the next garbage-collect would break, before it runs.") { mode, version, json, server, storageRoot };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () => RunAsync(
            parse.GetValue(mode)!, parse.GetValue(version), parse.GetValue(json), parse.GetValue(server), parse.GetValue(storageRoot),
            parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration, cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(
        string mode, string? version, bool json, string? server, string? storageRoot, string[] configArgs, InvocationConfiguration console,
        CancellationToken cancellationToken)
    {
        if (storageRoot is not null && server is not null)
            throw new SettingsException(["give either --storage-root (forecast here from the storage) or --server (ask the Verifier), not both"]);
        if (storageRoot is not null && string.IsNullOrWhiteSpace(storageRoot))
            throw new SettingsException(["--storage-root must name the storage driver's rootdirectory"]);
        var configuredRoot = server is null ? CommandLineHost.CreateBuilder(configArgs, CliLogs.Quiet).Configuration[$"{RegistryStorageOptions.SectionName}:{nameof(RegistryStorageOptions.Root)}"] : null;
        if ((storageRoot ?? configuredRoot) is { } root && !string.IsNullOrWhiteSpace(root))
            return await ForecastFromStorageAsync(root, mode, version, json, configArgs, console, cancellationToken);

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
        return await PrintAsync(forecast, json, console);
    }

    private static async Task<int> PrintAsync(GcForecast forecast, bool json, InvocationConfiguration console)
    {
        await console.Output.WriteAsync(json ? JsonSerializer.Serialize(forecast, CommandLineHost.Json) + "\n" : GcForecastText.Render(forecast));
        return forecast.ExitCode;
    }

    /// <summary>Reads the storage here (read-only) and forecasts over it: no Verifier, no store, no registry API.</summary>
    private static async Task<int> ForecastFromStorageAsync(
        string root, string mode, string? version, bool json, string[] configArgs, InvocationConfiguration console, CancellationToken cancellationToken)
    {
        if (configArgs.FirstOrDefault(a => !(a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal))) is { } unknown)
            throw new SettingsException([$"unknown argument '{unknown}' (configuration overrides look like --RegistryStorage:MaxManifestBytes=...)"]);
        var configuration = CommandLineHost.CreateBuilder(configArgs, CliLogs.Quiet).Configuration;
        var options = configuration.GetSection(RegistryStorageOptions.SectionName).Get<RegistryStorageOptions>() ?? new RegistryStorageOptions();
        var forecastOptions = configuration.GetSection(GcForecastOptions.SectionName).Get<GcForecastOptions>() ?? new GcForecastOptions();
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), problems, validateAllProperties: true)
            | !System.ComponentModel.DataAnnotations.Validator.TryValidateObject(forecastOptions, new(forecastOptions), problems, validateAllProperties: true))
            throw new SettingsException([.. problems.Select(p => p.ErrorMessage ?? "invalid setting")]);
        var storage = new FileSystemRegistryStorage(root);
        var check = storage.CheckRoot();
        if (check.Outcome == StorageOutcome.Missing)
            throw new SettingsException([check.Reason!]);
        if (check.Outcome == StorageOutcome.Unreadable)
        {
            await console.Error.WriteLineAsync($"gc-forecast: {check.Reason}");
            return Unknown;
        }
        GcForecaster.TryParseMode(mode, out var gcMode);
        var gcVersion = forecastOptions.Version;
        if (version is not null)
            GcForecaster.TryParseVersion(version, out gcVersion);
        var service = new GcForecastService(new StorageGraphSource(storage, options.MaxManifestBytes), TimeProvider.System);
        return await PrintAsync(await service.ForecastAsync(gcMode, gcVersion, cancellationToken), json, console);
    }
}
