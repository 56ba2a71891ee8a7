namespace RegistryIntegrity.TestSupport;

public static class RepositoryRoot
{
    private const string Marker = "Listener.sln";

    public static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, Marker)))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory containing {Marker} above {AppContext.BaseDirectory}.");
    }
}
