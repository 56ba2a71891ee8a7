using Microsoft.Extensions.Options;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>
/// The checks of <see cref="RepairOptions"/> that span fields: distinct source names, and each source's registry settings
/// (the registry client's own rules, named by the source's key) and repository mapping.
/// </summary>
public sealed class RepairOptionsValidator : IValidateOptions<RepairOptions>
{
    public ValidateOptionsResult Validate(string? name, RepairOptions options) =>
        Problems(options).ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;

    private static IEnumerable<string> Problems(RepairOptions options)
    {
        var names = options.Sources.Select(s => s.Name).Where(n => !string.IsNullOrEmpty(n)).ToList();
        if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Count)
            yield return "Repair:Sources names a source twice: give each a different Name.";
        for (var i = 0; i < options.Sources.Count; i++)
        {
            var source = options.Sources[i];
            if (source.BaseUrl is null)
                continue;
            var key = $"{RepairOptions.SectionName}:{nameof(RepairOptions.Sources)}:{i}";
            // "Registry:BaseUrl must be ..." becomes "Repair:Sources:0:BaseUrl must be ... (got '...')."
            foreach (var (member, problem) in RegistryOptionsValidator.Problems(source))
            {
                var message = problem.StartsWith($"Registry:{member} ", StringComparison.Ordinal)
                    ? problem[$"Registry:{member} ".Length..]
                    : problem.Replace("Registry:", "", StringComparison.Ordinal);
                // The password is never echoed.
                var got = member == nameof(RegistryOptions.Password) ? null : Setting(source, member);
                yield return $"{key}:{member} {message.TrimEnd('.')}{(got is null ? "" : $" (got '{SettingsCheck.Shorten(got)}')")}.";
            }
            foreach (var entry in source.RepositoryMap)
            {
                var (here, there) = RepairSource.SplitMapping(entry);
                if (!ReferenceGrammar.IsRepository(here) || !ReferenceGrammar.IsRepository(there))
                    yield return $"{key}:{nameof(RepairSource.RepositoryMap)} entry '{Printable(entry)}' is not written here/name=there/name with two repository names.";
            }
        }
    }

    private static string? Setting(RegistryOptions source, string member) => member switch
    {
        nameof(RegistryOptions.BaseUrl) => source.BaseUrl?.OriginalString,
        nameof(RegistryOptions.Username) => source.Username,
        nameof(RegistryOptions.UsernameFile) => source.UsernameFile,
        nameof(RegistryOptions.PasswordFile) => source.PasswordFile,
        nameof(RegistryOptions.CaCertificateFile) => source.CaCertificateFile,
        _ => null,
    };

    private static string Printable(string value) => new([.. value.Take(60).Select(c => char.IsControl(c) ? '?' : c)]);
}
