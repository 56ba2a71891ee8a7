using System.Globalization;

namespace RegistryIntegrity.Benchmarks.Listener;

/// <param name="Rounds">Each round runs every measurement once, interleaved; the report gives the median round.</param>
/// <param name="Sequential">Requests (and baseline publishes) per sequential measurement.</param>
/// <param name="Concurrent">Requests (and baseline publishes) per concurrent measurement.</param>
/// <param name="Connections">Concurrent HTTP connections, and baseline publishes in flight.</param>
/// <param name="PhaseLimit">A measurement stops early when it takes longer than this.</param>
public sealed record BenchmarkOptions(int Rounds, int Warmup, int Sequential, int Concurrent, int Connections, TimeSpan PhaseLimit)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var options = new BenchmarkOptions(Rounds: 3, Warmup: 2_000, Sequential: 3_000, Concurrent: 30_000, Connections: 64, PhaseLimit: TimeSpan.FromSeconds(60));
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            options = args[i] switch
            {
                "--rounds" => options with { Rounds = value },
                "--warmup" => options with { Warmup = value },
                "--sequential" => options with { Sequential = value },
                "--concurrent" => options with { Concurrent = value },
                "--connections" => options with { Connections = value },
                "--phase-limit-seconds" => options with { PhaseLimit = TimeSpan.FromSeconds(value) },
                _ => throw new ArgumentException($"Unknown option {args[i]}; known: --rounds --warmup --sequential --concurrent --connections --phase-limit-seconds."),
            };
        }
        if (options.Rounds < 1 || options.Sequential < 100 || options.Concurrent < options.Connections || options.Connections < 1)
            throw new ArgumentException("Need at least 1 round, 100 sequential requests and as many concurrent requests as connections.");
        return options;
    }
}
