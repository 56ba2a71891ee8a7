using System.ComponentModel;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RegistryIntegrity.Hosting.Settings;

/// <summary>Durations as operators write them: <c>500ms</c>, <c>1.5s</c>, <c>10m</c>, <c>2h</c>, <c>1d</c>, or <c>00:00:01.500</c>.</summary>
public static partial class Durations
{
    private static int _registered;

    /// <summary>
    /// Makes every <see cref="TimeSpan"/> setting accept the short forms. The configuration binder and
    /// <c>[Range(typeof(TimeSpan), ...)]</c> both convert through the type's <see cref="TypeConverter"/>,
    /// so registering one converter covers every options class.
    /// </summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
            TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(DurationConverter)));
    }

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var match = ShortForm().Match(text);
        if (match.Success)
        {
            var amount = double.Parse(match.Groups["amount"].Value, CultureInfo.InvariantCulture);
            duration = match.Groups["unit"].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            };
            return true;
        }
        return TimeSpan.TryParse(text.Trim(), CultureInfo.InvariantCulture, out duration);
    }

    [GeneratedRegex(@"^\s*(?<amount>\d+(\.\d+)?)\s*(?<unit>ms|s|m|h|d)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex ShortForm();

    private sealed class DurationConverter : TimeSpanConverter
    {
        public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
            value is string text
                ? TryParse(text, out var duration) ? duration : throw new FormatException($"'{text}' is not a duration.")
                : base.ConvertFrom(context, culture, value);
    }
}
