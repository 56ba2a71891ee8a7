using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Verifier.Registry;

/// <summary>The checks of <see cref="RegistryOptions"/> that span fields or look at the file system (ranges: data annotations).</summary>
public sealed class RegistryOptionsValidator : IValidateOptions<RegistryOptions>
{
    public ValidateOptionsResult Validate(string? name, RegistryOptions options) =>
        Problems(options).Select(p => p.Message).ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;

    /// <summary>Each problem with the setting it is about; the messages name the <c>Registry</c> section (a repair source rewords them).</summary>
    public static IEnumerable<(string Member, string Message)> Problems(RegistryOptions options)
    {
        if (options.BaseUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https")))
            yield return (nameof(RegistryOptions.BaseUrl), "Registry:BaseUrl must be an absolute http(s) URL.");
        if (options.Password is not null && options.PasswordFile is not null)
            yield return (nameof(RegistryOptions.Password), "Set Registry:Password or Registry:PasswordFile, not both.");
        if (options.Username is not null && options.UsernameFile is not null)
            yield return (nameof(RegistryOptions.Username), "Set Registry:Username or Registry:UsernameFile, not both.");
        foreach (var (member, path) in new[]
                 {
                     (nameof(RegistryOptions.UsernameFile), options.UsernameFile), (nameof(RegistryOptions.PasswordFile), options.PasswordFile),
                     (nameof(RegistryOptions.CaCertificateFile), options.CaCertificateFile),
                 })
        {
            if (path is not null && !File.Exists(path))
                yield return (member, $"Registry:{member} names a file that does not exist.");
        }
    }
}
