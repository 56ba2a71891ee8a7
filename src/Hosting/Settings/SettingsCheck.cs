using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Hosting.Settings;

/// <summary>
/// Checks configuration before a host is built, so that a missing, malformed or out-of-range setting
/// stops the process with one line naming the key and what it expects instead of a stack trace.
/// Unknown keys inside a checked section are warnings (a typo must not pass silently).
/// </summary>
public sealed class SettingsCheck
{
    private readonly IConfiguration _configuration;
    private readonly List<string> _problems = [];
    private readonly List<string> _warnings = [];

    public SettingsCheck(IConfiguration configuration)
    {
        Durations.Register();
        _configuration = configuration;
    }

    public IReadOnlyList<string> Problems => _problems;

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Binds <paramref name="section"/> to <typeparamref name="T"/> key by key, then validates it (data annotations, then <paramref name="validator"/>).</summary>
    public T? Section<T>(string section, IValidateOptions<T>? validator = null) where T : class, new()
    {
        var before = _problems.Count;
        CheckBindable(_configuration.GetSection(section), typeof(T));
        if (_problems.Count > before)
            return null;
        var value = _configuration.GetSection(section).Get<T>() ?? new T();
        ValidateObject(value, section);
        if (_problems.Count == before && validator?.Validate(Options.DefaultName, value) is { Failed: true } result)
            _problems.AddRange(result.Failures ?? []);
        return _problems.Count > before ? null : value;
    }

    /// <summary>A value that must be present and pass <paramref name="valid"/>; <paramref name="expects"/> says what it should look like.</summary>
    public string? Value(string key, string expects, Func<string, bool> valid, bool required = true)
    {
        var value = _configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
                _problems.Add($"{key} is not set: expected {expects}.");
            return null;
        }
        if (valid(value))
            return value;
        _problems.Add($"{key} is invalid: expected {expects}.");
        return null;
    }

    /// <summary>An AMQP broker URI (<c>amqp://user:password@host:port/vhost</c>); the value is never echoed, it holds a password.</summary>
    public Uri? BrokerUri(string key) =>
        Value(key, "an amqp:// or amqps:// URI such as amqp://user:password@rabbitmq:5672/",
            v => Uri.TryCreate(v, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps" && uri.Host.Length > 0) is { } text
            ? new Uri(text)
            : null;

    public void Boolean(string key) =>
        Value(key, $"true or false (got '{Shorten(_configuration[key])}')", v => bool.TryParse(v, out _), required: false);

    /// <summary>Kestrel's <c>Urls</c>: absolute http(s) URLs separated by ';'.</summary>
    public void Urls(string key = "Urls") =>
        Value(key, $"http(s) URLs separated by ';' such as http://0.0.0.0:8080 (got '{Shorten(_configuration[key])}')",
            v => v.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .All(u => Uri.TryCreate(u.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                          && uri.Scheme is "http" or "https"),
            required: false);

    /// <summary><c>Logging:LogLevel:*</c> values must be log levels, or logging fails at start.</summary>
    public void LogLevels()
    {
        foreach (var level in _configuration.GetSection("Logging:LogLevel").GetChildren())
        {
            if (level.Value is { } text && !Enum.TryParse<LogLevel>(text, ignoreCase: true, out _))
                _problems.Add($"{level.Path} is invalid: expected one of {string.Join(", ", Enum.GetNames<LogLevel>())} (got '{Shorten(text)}').");
        }
    }

    public void Problem(string line) => _problems.Add(line);

    /// <summary>Throws a <see cref="SettingsException"/> naming every problem found; returns the warnings otherwise.</summary>
    public IReadOnlyList<string> ThrowIfInvalid() =>
        _problems.Count > 0 ? throw new SettingsException(_problems.Distinct(StringComparer.Ordinal).ToList()) : _warnings;

    private void CheckBindable(IConfigurationSection section, Type type)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                _warnings.Add($"{child.Path} is not a known setting and is ignored.");
                continue;
            }
            CheckValue(child, property.PropertyType);
        }
    }

    private void CheckValue(IConfigurationSection section, Type type)
    {
        if (IsScalar(type))
        {
            if (section.Value is null)
            {
                if (section.GetChildren().Any())
                    _problems.Add($"{section.Path} is invalid: expected {Describe(type)}, not a section.");
                return;
            }
            try
            {
                section.Get(type);
            }
            catch (InvalidOperationException)
            {
                _problems.Add($"{section.Path} is invalid: expected {Describe(type)} (got '{Shorten(section.Value)}').");
            }
        }
        else if (ElementType(type) is { } element)
        {
            foreach (var item in section.GetChildren())
                CheckValue(item, element);
        }
        else
            CheckBindable(section, type);
    }

    private void ValidateObject(object value, string path)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        foreach (var result in results)
        {
            var member = result.MemberNames.FirstOrDefault();
            var key = member is null ? path : $"{path}:{member}";
            var message = result.ErrorMessage ?? "is invalid";
            if (message.StartsWith(key, StringComparison.Ordinal))
                _problems.Add(message);
            else
            {
                message = message.Replace($"The field {member} ", "", StringComparison.Ordinal)
                    .Replace($"The {member} field is required.", "is required.", StringComparison.Ordinal);
                var got = _configuration[key] is { } text ? $" (got '{Shorten(text)}')" : "";
                _problems.Add($"{key} {message.TrimEnd('.')}{got}.");
            }
        }
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (IsScalar(property.PropertyType) || property.GetIndexParameters().Length > 0)
                continue;
            var nested = property.GetValue(value);
            if (nested is IEnumerable items and not string)
            {
                var index = 0;
                foreach (var item in items)
                {
                    if (item is not null && !IsScalar(item.GetType()))
                        ValidateObject(item, $"{path}:{property.Name}:{index}");
                    index++;
                }
            }
            else if (nested is not null)
                ValidateObject(nested, $"{path}:{property.Name}");
        }
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
               || type == typeof(Uri) || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Guid);
    }

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericArguments() is [var element] && typeof(IEnumerable).IsAssignableFrom(type) ? element
        : null;

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(TimeSpan) => "a duration such as 500ms, 1.5s, 10m or 00:00:10",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ when type == typeof(Uri) => "a URL",
            _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type))}",
            _ => $"a {type.Name}",
        };
    }

    /// <summary>Values are echoed short: enough to spot a typo, never a whole secret-bearing string.</summary>
    /// <summary>A value as echoed in a problem: at most 40 characters.</summary>
    public static string Shorten(string? value) => value is null ? "" : value.Length <= 40 ? value : value[..37] + "...";
}
