using System.Diagnostics;

namespace RegistryIntegrity.Benchmarks.Listener;

/// <summary>What one measured phase did: completed operations, failures, wall time and each operation's latency.</summary>
public sealed class Measurement(string name, int completed, int failed, TimeSpan elapsed, long[] latencyTicks)
{
    public string Name { get; } = name;

    public int Completed { get; } = completed;

    public int Failed { get; } = failed;

    public double PerSecond => Completed / elapsed.TotalSeconds;

    public double P50Ms => Percentile(0.50);

    public double P99Ms => Percentile(0.99);

    public double MaxMs => Percentile(1.0);

    private double Percentile(double p)
    {
        if (latencyTicks.Length == 0)
            return double.NaN;
        var index = Math.Min(latencyTicks.Length - 1, (int)Math.Ceiling(p * latencyTicks.Length) - 1);
        return latencyTicks[Math.Max(0, index)] * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>Runs <paramref name="operation"/> <paramref name="count"/> times on <paramref name="workers"/> workers (each awaits its own operations in turn).</summary>
    public static async Task<Measurement> RunAsync(string name, int count, int workers, TimeSpan limit, Func<int, Task<bool>> operation)
    {
        var next = -1;
        var failed = 0;
        var latencies = new List<long>[workers];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async worker =>
        {
            var mine = latencies[worker] = new List<long>(count / workers + 1);
            int i;
            while ((i = Interlocked.Increment(ref next)) < count && clock.Elapsed < limit)
            {
                var started = Stopwatch.GetTimestamp();
                var ok = await operation(i);
                mine.Add(Stopwatch.GetTimestamp() - started);
                if (!ok)
                    Interlocked.Increment(ref failed);
            }
        }));
        var elapsed = clock.Elapsed;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new Measurement(name, all.Length - failed, failed, elapsed, all);
    }
}
