using System.Diagnostics;

namespace RegistryIntegrity.TestSupport;

/// <summary>
/// The real registry 2.8.2 behind <c>auth.htpasswd</c> (bcrypt, written by <c>htpasswd -B</c> from apache2-utils,
/// which <c>scripts/stack.sh install</c> installs), with one user.
/// </summary>
public sealed class HtpasswdRegistry : IAsyncDisposable
{
    private readonly string _folder;

    private HtpasswdRegistry(string folder, LocalStack stack, string user, string password)
    {
        _folder = folder;
        Stack = stack;
        User = user;
        Password = password;
    }

    public LocalStack Stack { get; }

    public string User { get; }

    public string Password { get; }

    /// <summary>Plain HTTP on a free 127.0.0.1 port.</summary>
    public Uri Uri => Stack.RegistryUri;

    public static async Task<HtpasswdRegistry> StartAsync(string user, string password, string realm = "integrity-test")
    {
        var folder = Directory.CreateTempSubdirectory("rit-htpasswd-").FullName;
        var stack = await LocalStack.StartAsync(StackServices.Registry, registryEnvironment: await EnvironmentAsync(folder, user, password, realm));
        return new HtpasswdRegistry(folder, stack, user, password);
    }

    /// <summary>Writes the htpasswd file into <paramref name="folder"/>; returns the registry's configuration overrides that use it.</summary>
    public static async Task<Dictionary<string, string>> EnvironmentAsync(string folder, string user, string password, string realm)
    {
        var htpasswd = Path.Combine(folder, "htpasswd");
        using (var process = Process.Start(new ProcessStartInfo("htpasswd", ["-Bbc", htpasswd, user, password]) { RedirectStandardError = true })!)
        {
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"htpasswd failed: {await process.StandardError.ReadToEndAsync()}");
        }
        return new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_REALM"] = realm,
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await Stack.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
