using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Listener;

public sealed class ListenerOptions
{
    public const string SectionName = "Listener";

    /// <summary>Accepted bearer tokens. Several may be valid at once so a token can be rotated without downtime.</summary>
    public List<string> BearerTokens { get; set; } = [];

    /// <summary>Accept notifications without credentials. Only for local experiments; logged as a warning.</summary>
    public bool AllowAnonymous { get; set; }

    [Range(1024, 64 * 1024 * 1024)]
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long to wait for the broker's confirm before answering 503. Keep it well under the
    /// registry's endpoint <c>timeout</c>, or the registry re-sends while we still wait.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(1.5);
}

internal sealed class ListenerOptionsValidator : IValidateOptions<ListenerOptions>
{
    public ValidateOptionsResult Validate(string? name, ListenerOptions options)
    {
        if (options.BearerTokens.Any(string.IsNullOrWhiteSpace))
            return ValidateOptionsResult.Fail("Listener:BearerTokens contains an empty token.");
        if (options.BearerTokens.Any(t => t.Length < 16))
            return ValidateOptionsResult.Fail("Listener:BearerTokens: every token must be at least 16 characters long.");
        if (options.BearerTokens.Count == 0 && !options.AllowAnonymous)
            return ValidateOptionsResult.Fail(
                "No credential is configured: set Listener:BearerTokens:0 (env Listener__BearerTokens__0), " +
                "or Listener:AllowAnonymous=true to accept unauthenticated notifications.");
        return ValidateOptionsResult.Success;
    }
}
