namespace RegistryIntegrity.Benchmarks.Listener;

/// <summary>CPU time (user + system, from /proc) of the processes a measurement involves, to show where each event's cost goes.</summary>
public sealed class CpuMeter(IReadOnlyDictionary<string, int> processes)
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    public static CpuMeter For(int listenerPid, string stackDir)
    {
        var processes = new Dictionary<string, int> { ["listener"] = listenerPid, ["benchmark (load + client)"] = Environment.ProcessId };
        if (FindRabbitMq(stackDir) is { } rabbitMq)
            processes["rabbitmq"] = rabbitMq;
        return new CpuMeter(processes);
    }

    public IReadOnlyDictionary<string, double> Sample() => processes.ToDictionary(p => p.Key, p => CpuSeconds(p.Value));

    /// <summary>Milliseconds of CPU per operation, by process, between two samples.</summary>
    public static string PerOperation(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after, int operations) =>
        string.Join(", ", after.Select(p => $"{p.Key} {(p.Value - before[p.Key]) * 1000 / operations:F3}"));

    private static double CpuSeconds(int pid)
    {
        var path = $"/proc/{pid}/stat";
        if (!File.Exists(path))
            return 0;
        // Fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th.
        var stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    private static int? FindRabbitMq(string stackDir)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
                continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline"));
                if (commandLine.Contains("beam.smp", StringComparison.Ordinal) && commandLine.Contains(stackDir, StringComparison.Ordinal))
                    return pid;
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return null;
    }
}
