using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Listener.Configuration;

public sealed class ListenerOptions
{
    public const string SectionName = "Listener";

    /// <summary>Accepted bearer tokens. Several may be valid at once so a token can be rotated without downtime.</summary>
    public List<string> BearerTokens { get; set; } = [];

    /// <summary>Accepted HTTP Basic credentials, an alternative to bearer tokens (several at once, for rotation).</summary>
    public List<BasicCredential> BasicCredentials { get; set; } = [];

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

    /// <summary>The whole body must arrive within this time (a registry sends it at once), or the answer is 408.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RequestBodyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Open connections at most, counted per port (the notification port and the management port
    /// each have their own). A registry holds one per endpoint; the limit is high so that clients
    /// holding idle sockets cannot take the registry's place. Unauthenticated connections never get
    /// a body buffered, so an idle one costs a few kilobytes.
    /// </summary>
    [Range(4, 100_000)]
    public int MaxConcurrentConnections { get; set; } = 16_384;

    /// <summary>An idle connection is closed after this (Kestrel's default is 130 s), so held sockets free their slot soon.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>On SIGTERM, how long in-flight requests may take to finish before the process exits.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [ValidateObjectMembers]
    public QuarantineOptions Quarantine { get; set; } = new();
}

public sealed class BasicCredential
{
    public string Username { get; set; } = "";

    public string Password { get; set; } = "";
}

public sealed class QuarantineOptions
{
    /// <summary>The queue keeps this many notifications at most; the oldest are dropped first.</summary>
    [Range(1, 1_000_000)]
    public int MaxMessages { get; set; } = 1000;

    /// <summary>A quarantined body is kept up to this many bytes (the message says when it was cut).</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 64 * 1024;
}

/// <summary>
/// A token read from a file (a Kubernetes secret created with <c>--from-file</c>) usually ends with a
/// newline that the registry's header does not carry: surrounding whitespace is not part of a token.
/// </summary>
internal sealed class TrimBearerTokens : IPostConfigureOptions<ListenerOptions>
{
    public void PostConfigure(string? name, ListenerOptions options) =>
        options.BearerTokens = [.. options.BearerTokens.Select(t => t?.Trim() ?? "")];
}

internal sealed class ListenerOptionsValidator : IValidateOptions<ListenerOptions>
{
    public ValidateOptionsResult Validate(string? name, ListenerOptions options)
    {
        if (options.BearerTokens.Any(string.IsNullOrWhiteSpace))
            return ValidateOptionsResult.Fail("Listener:BearerTokens contains an empty token.");
        for (var i = 0; i < options.BearerTokens.Count; i++)
        {
            // Surrounding whitespace is trimmed (see TrimBearerTokens; the start-up check sees the values untrimmed);
            // what is left inside can never match a header.
            if (options.BearerTokens[i].Trim().Any(c => char.IsWhiteSpace(c) || c == ','))
                return ValidateOptionsResult.Fail($"Listener:BearerTokens:{i} contains whitespace or a comma, which a bearer token sent in a header never does.");
        }
        if (options.BearerTokens.Any(t => t.Trim().Length < 16))
            return ValidateOptionsResult.Fail("Listener:BearerTokens: every token must be at least 16 characters long.");
        if (options.BasicCredentials.Any(c => string.IsNullOrWhiteSpace(c.Username) || c.Username.Contains(':', StringComparison.Ordinal)))
            return ValidateOptionsResult.Fail("Listener:BasicCredentials: every username must be set and contain no ':'.");
        if (options.BasicCredentials.Any(c => c.Password.Length < 16))
            return ValidateOptionsResult.Fail("Listener:BasicCredentials: every password must be at least 16 characters long.");
        if (options.BearerTokens.Count == 0 && options.BasicCredentials.Count == 0 && !options.AllowAnonymous)
            return ValidateOptionsResult.Fail(
                "No credential is configured: set Listener:BearerTokens:0 (env Listener__BearerTokens__0) or " +
                "Listener:BasicCredentials:0:Username and :Password, or Listener:AllowAnonymous=true to accept unauthenticated notifications.");
        return ValidateOptionsResult.Success;
    }
}
