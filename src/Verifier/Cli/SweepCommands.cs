using System.CommandLine;
using RegistryIntegrity.Verifier.Storage;
using RegistryIntegrity.Verifier.Sweeps;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>
/// <c>sweep</c> queues a sweep of the whole registry and prints its id (<c>--wait</c> follows it);
/// <c>backfill</c> does the same and shows progress until it completes. Running Verifiers do the work.
/// </summary>
internal static class SweepCommands
{
    public const int Completed = 0, Failed = 1, TimedOut = 2;

    public static Command CreateSweep()
    {
        var wait = new Option<bool>("--wait") { Description = "Follow the sweep until it completes." };
        var timeout = TimeoutOption();
        var command = new Command("sweep", "Queue a sweep of the whole registry now (e.g. after garbage-collect).") { wait, timeout };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () =>
            RunAsync("cli", parse.GetValue(wait), parse.GetValue(timeout), parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration, cancellationToken)));
        return command;
    }

    public static Command CreateBackfill()
    {
        var timeout = TimeoutOption();
        var command = new Command("backfill", "Enumerate and verify every repository and tag of the registry, showing progress.") { timeout };
        command.SetAction((parse, cancellationToken) => CommandLineHost.GuardAsync(parse, () =>
            RunAsync("backfill", wait: true, parse.GetValue(timeout), parse.UnmatchedTokens.ToArray(), parse.InvocationConfiguration, cancellationToken)));
        return command;
    }

    private static Option<TimeSpan> TimeoutOption() => new("--timeout")
    {
        Description = "Give up following after this long (the sweep itself goes on).",
        DefaultValueFactory = _ => TimeSpan.FromHours(6),
    };

    private static async Task<int> RunAsync(string trigger, bool wait, TimeSpan timeout, string[] configArgs, InvocationConfiguration console, CancellationToken cancellationToken)
    {
        var output = console.Output;
        using var host = await CommandLineHost.StartWithBusAsync(configArgs, console.Error, cancellationToken);
        try
        {
            Guid id;
            await using (var scope = host.Services.CreateAsyncScope())
                id = await scope.ServiceProvider.GetRequiredService<SweepRequester>().RequestAsync(trigger, cancellationToken);
            await output.WriteLineAsync($"sweep {id} queued");
            if (!wait)
                return Completed;
            return await FollowAsync(host.Services.GetRequiredService<ISweepStore>(), id, timeout, output, cancellationToken);
        }
        finally
        {
            await CommandLineHost.StopBusAsync(host);
        }
    }

    private static async Task<int> FollowAsync(ISweepStore sweeps, Guid id, TimeSpan timeout, TextWriter output, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var interactive = output == Console.Out && !Console.IsOutputRedirected;
        var lastLine = DateTimeOffset.MinValue;
        while (DateTimeOffset.UtcNow - started < timeout)
        {
            var progress = await sweeps.GetSweepAsync(id, cancellationToken);
            if (progress is not null)
            {
                var line = Describe(progress, DateTimeOffset.UtcNow);
                if (progress.Status is "completed" or "failed")
                {
                    await output.WriteLineAsync(interactive ? $"\r{line}" : line);
                    return progress.Status == "completed" ? Completed : Failed;
                }
                if (interactive)
                    await output.WriteAsync($"\r{line}   ");
                else if (DateTimeOffset.UtcNow - lastLine > TimeSpan.FromSeconds(5))
                {
                    await output.WriteLineAsync(line);
                    lastLine = DateTimeOffset.UtcNow;
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
        await output.WriteLineAsync($"sweep {id} still running after {timeout}; follow it with GET /v1/sweeps/{id}");
        return TimedOut;
    }

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
