namespace RegistryIntegrity.Contracts;

/// <summary>
/// A registry's <c>source.instanceID</c> (a UUID in distribution): at most 128 characters of letters,
/// digits and <c>-_.:</c>. Anything else is treated as absent, so no wire value of another shape is
/// ever stored, counted or logged as an instance.
/// </summary>
public static class RegistryInstanceId
{
    public const int MaxLength = 128;

    public static bool IsValid(string? value) =>
        value is { Length: > 0 and <= MaxLength } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}
