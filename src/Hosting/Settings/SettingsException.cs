namespace RegistryIntegrity.Hosting.Settings;

/// <summary>Configuration that cannot work: one line per problem, each naming the key and what it expects.</summary>
public sealed class SettingsException(IReadOnlyList<string> problems) : Exception(string.Join(Environment.NewLine, problems))
{
    /// <summary>The exit code of a service or CLI verb stopped by bad configuration (EX_USAGE, as for a bad argument).</summary>
    public const int ExitCode = 64;

    public IReadOnlyList<string> Problems { get; } = problems;
}
