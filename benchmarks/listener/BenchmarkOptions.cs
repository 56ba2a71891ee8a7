using System.Globalization;

namespace RegistryIntegrity.Benchmarks.Listener;

/// <param name="Rounds">Each round runs every measurement once, interleaved; the report gives the median round.</param>
/// <param name="Sequential">Requests (and baseline publishes) per sequential measurement.</param>
/// <param name="Concurrent">Requests (and baseline publishes) per concurrent measurement.</param>
/// <param name="Connections">Concurrent HTTP connections, and baseline publishes in flight.</param>
/// <param name="PhaseLimit">A measurement stops early when it takes longer than this.</param>
/// <param name="ListenerEnvironment">Extra environment of the Listener process (<c>--listener-env NAME=VALUE</c>), to compare runtime settings.</param>
public sealed record BenchmarkOptions(
    int Rounds, int Warmup, int Sequential, int Concurrent, int Connections, TimeSpan PhaseLimit, IReadOnlyDictionary<string, string> ListenerEnvironment)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var options = new BenchmarkOptions(Rounds: 3, Warmup: 6_000, Sequential: 3_000, Concurrent: 30_000, Connections: 64, PhaseLimit: TimeSpan.FromSeconds(60),
            ListenerEnvironment: new Dictionary<string, string>());
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--listener-env")
            {
                var (name, value) = args[i + 1].Split('=', 2) is [var n, var v] ? (n, v) : throw new ArgumentException("--listener-env takes NAME=VALUE.");
                options = options with { ListenerEnvironment = new Dictionary<string, string>(options.ListenerEnvironment) { [name] = value } };
                continue;
            }
            var number = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            options = args[i] switch
            {
                "--rounds" => options with { Rounds = number },
                "--warmup" => options with { Warmup = number },
                "--sequential" => options with { Sequential = number },
                "--concurrent" => options with { Concurrent = number },
                "--connections" => options with { Connections = number },
                "--phase-limit-seconds" => options with { PhaseLimit = TimeSpan.FromSeconds(number) },
                _ => throw new ArgumentException($"Unknown option {args[i]}; known: --rounds --warmup --sequential --concurrent --connections --phase-limit-seconds --listener-env."),
            };
        }
        if (options.Rounds < 1 || options.Sequential < 100 || options.Concurrent < options.Connections || options.Connections < 1)
            throw new ArgumentException("Need at least 1 round, 100 sequential requests and as many concurrent requests as connections.");
        return options;
    }

    public override string ToString() =>
        $"rounds {Rounds}, warmup {Warmup}, sequential {Sequential}, concurrent {Concurrent} on {Connections}, phase limit {PhaseLimit.TotalSeconds} s" +
        (ListenerEnvironment.Count == 0 ? "" : $", listener env {string.Join(' ', ListenerEnvironment.Select(e => $"{e.Key}={e.Value}"))}");
}
