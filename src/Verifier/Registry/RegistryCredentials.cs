using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Verifier.Registry;

/// <summary>
/// The Basic credentials for the registry (and its token realm), from configuration or from files
/// such as mounted Kubernetes secrets. Files are re-read when they change, so a rotated secret is
/// picked up without a restart. The values are never logged.
/// </summary>
public sealed class RegistryCredentials(IOptions<RegistryOptions> options)
{
    private readonly Lock _lock = new();
    private (DateTime UserStamp, DateTime PasswordStamp, AuthenticationHeaderValue? Header)? _cached;

    /// <summary>The Basic header, or null when no username is configured (anonymous).</summary>
    public AuthenticationHeaderValue? BasicHeader()
    {
        var o = options.Value;
        var userStamp = Stamp(o.UsernameFile);
        var passwordStamp = Stamp(o.PasswordFile);
        lock (_lock)
        {
            if (_cached is { } cached && cached.UserStamp == userStamp && cached.PasswordStamp == passwordStamp)
                return cached.Header;
            var user = o.UsernameFile is { } userFile ? ReadSecret(userFile) : o.Username;
            var password = o.PasswordFile is { } passwordFile ? ReadSecret(passwordFile) : o.Password;
            var header = string.IsNullOrEmpty(user)
                ? null
                : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
            _cached = (userStamp, passwordStamp, header);
            return header;
        }
    }

    private static DateTime Stamp(string? path) => path is null ? default : File.GetLastWriteTimeUtc(path);

    // Secret files usually end with a newline that is not part of the value.
    private static string ReadSecret(string path) => File.ReadAllText(path).TrimEnd('\r', '\n');
}
