using System.Globalization;

namespace RegistryIntegrity.Benchmarks.Sweep;

/// <summary>CPU time from /proc: of the machine (busy and idle) and of single processes.</summary>
internal sealed record CpuSample(double MachineBusy, double MachineIdle, IReadOnlyDictionary<string, double> Processes)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    /// <param name="processes">name and pid of each process to follow</param>
    public static CpuSample Take(IReadOnlyDictionary<string, int> processes)
    {
        // "cpu  user nice system idle iowait irq softirq steal ..."
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(Parse).ToArray();
        var idle = fields[3] + fields[4];
        return new CpuSample(
            (fields.Take(8).Sum() - idle) / TicksPerSecond, idle / TicksPerSecond,
            processes.ToDictionary(p => p.Key, p => ProcessSeconds(p.Value)));
    }

    /// <summary>The machine's idle share and each process's CPU seconds between two samples.</summary>
    public string Since(CpuSample before, IReadOnlyDictionary<string, double>? perUnit = null)
    {
        var busy = MachineBusy - before.MachineBusy;
        var idle = MachineIdle - before.MachineIdle;
        var parts = Processes.Select(p =>
        {
            var seconds = p.Value - before.Processes.GetValueOrDefault(p.Key);
            var per = perUnit?.GetValueOrDefault(p.Key) is > 0 and var units ? $" = {seconds * 1000 / units:F2} ms/request" : "";
            return $"{p.Key} {seconds:F1} s{per}";
        });
        return $"machine idle {idle / (busy + idle):P0}; CPU: {string.Join(", ", parts)}";
    }

    private static double ProcessSeconds(int pid)
    {
        // /proc/PID/stat: "pid (comm) state ..."; utime and stime are fields 14 and 15; comm may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (Parse(fields[11]) + Parse(fields[12])) / TicksPerSecond;
    }

    private static double Parse(string value) => double.Parse(value, CultureInfo.InvariantCulture);
}
