using System.Text;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>Values from the wire made safe for a log line or a message: control characters escaped, length capped.</summary>
public static class LogText
{
    public const int MaxLength = 128;

    public static string Printable(string? value, int maxLength = MaxLength)
    {
        if (value is null)
            return "(none)";
        var text = new StringBuilder(Math.Min(value.Length, maxLength) + 2);
        foreach (var c in value.Length > maxLength ? value[..maxLength] : value)
        {
            if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029')
                text.Append(@"\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else
                text.Append(c);
        }
        if (value.Length > maxLength)
            text.Append($"...({value.Length} characters)");
        return text.ToString();
    }
}
