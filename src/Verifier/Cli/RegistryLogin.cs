using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary>Credentials for one registry host, as given and where from ("--username", a docker config file, a credential helper).</summary>
internal sealed record RegistryLogin(string Username, string Password, string Source);

/// <summary>
/// Finds the credentials for the registry a <c>check</c> talks to, the way docker, crane and regctl do:
/// <c>-u</c> with <c>--password-stdin</c>, else the docker config (<c>$DOCKER_CONFIG/config.json</c> or
/// <c>~/.docker/config.json</c>): <c>credHelpers</c> for the host, <c>credsStore</c>, then <c>auths</c>.
/// Only the entry of that registry host is read, so credentials never go to another host.
/// </summary>
internal static class RegistryLogins
{
    /// <summary>docker keeps Docker Hub's credentials under its v1 index URL.</summary>
    private const string DockerHubKey = "https://index.docker.io/v1/";

    private static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(15);

    /// <returns>The login, null for anonymous access, or a problem (a usage error: exit 64).</returns>
    public static async Task<(RegistryLogin? Login, string? Problem)> FindAsync(
        string registryHost, string? username, bool passwordStdin, TextReader stdin, string? dockerConfigDirectory, CancellationToken cancellationToken)
    {
        if (passwordStdin || username is not null)
        {
            if (username is null || !passwordStdin)
                return (null, "--username and --password-stdin go together: the password is read from stdin, never from the command line");
            var password = (await stdin.ReadToEndAsync(cancellationToken)).TrimEnd('\r', '\n');
            return password.Length == 0
                ? (null, "--password-stdin read an empty password from stdin")
                : (new RegistryLogin(username, password, "--username"), null);
        }
        var configFile = Path.Combine(dockerConfigDirectory ?? DefaultDockerConfigDirectory(), "config.json");
        if (!File.Exists(configFile))
            return (null, null);
        JsonDocument config;
        try
        {
            config = JsonDocument.Parse(await File.ReadAllTextAsync(configFile, cancellationToken));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return (null, $"{configFile} could not be read: {e.Message}");
        }
        using (config)
        {
            var root = config.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, $"{configFile} is not a JSON object");
            var keys = KeysFor(registryHost);
            if (Property(root, "credHelpers") is { ValueKind: JsonValueKind.Object } helpers
                && keys.Select(k => Property(helpers, k)).FirstOrDefault(h => h?.ValueKind == JsonValueKind.String) is { } helper)
                return await RunHelperAsync(helper.GetString()!, keys[0], cancellationToken);
            if (Property(root, "credsStore") is { ValueKind: JsonValueKind.String } store && store.GetString() is { Length: > 0 } storeName)
            {
                var (login, problem) = await RunHelperAsync(storeName, keys[0], cancellationToken);
                if (login is not null || problem is not null)
                    return (login, problem);
            }
            if (Property(root, "auths") is { ValueKind: JsonValueKind.Object } auths)
            {
                foreach (var entry in auths.EnumerateObject())
                {
                    if (entry.Value.ValueKind == JsonValueKind.Object && keys.Contains(Normalize(entry.Name), StringComparer.OrdinalIgnoreCase))
                        return FromAuthEntry(entry.Value, $"{configFile} auths[\"{entry.Name}\"]");
                }
            }
        }
        return (null, null);
    }

    public static string DefaultDockerConfigDirectory() =>
        Environment.GetEnvironmentVariable("DOCKER_CONFIG") is { Length: > 0 } directory
            ? directory
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");

    /// <summary>The keys docker may have stored this host's entry under, most specific first.</summary>
    private static string[] KeysFor(string registryHost) =>
        registryHost.Equals(ImageReference.DockerHub, StringComparison.OrdinalIgnoreCase)
            ? [DockerHubKey, "index.docker.io", "docker.io", ImageReference.DockerHub]
            : [registryHost];

    /// <summary><c>https://host:5000/v2/</c> and <c>host:5000</c> name the same entry; Docker Hub's v1 URL stays as it is.</summary>
    private static string Normalize(string key)
    {
        if (key.Equals(DockerHubKey, StringComparison.OrdinalIgnoreCase))
            return DockerHubKey;
        var host = key.Contains("://", StringComparison.Ordinal) ? key[(key.IndexOf("://", StringComparison.Ordinal) + 3)..] : key;
        return host.Split('/')[0];
    }

    private static (RegistryLogin?, string?) FromAuthEntry(JsonElement entry, string source)
    {
        if (Property(entry, "auth") is { ValueKind: JsonValueKind.String } auth && auth.GetString() is { Length: > 0 } encoded)
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            }
            catch (FormatException)
            {
                return (null, $"{source}.auth is not base64 of user:password");
            }
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon > 0
                ? (new RegistryLogin(decoded[..colon], decoded[(colon + 1)..], source), null)
                : (null, $"{source}.auth is not base64 of user:password");
        }
        if (Property(entry, "username") is { ValueKind: JsonValueKind.String } user && Property(entry, "password") is { ValueKind: JsonValueKind.String } password)
            return (new RegistryLogin(user.GetString()!, password.GetString()!, source), null);
        if (Property(entry, "identitytoken") is not null)
            return (null, $"{source} holds an identity token (OAuth refresh token), which check does not support: use --username with --password-stdin");
        return (null, null);
    }

    /// <summary>Runs <c>docker-credential-NAME get</c> with the server on stdin, as docker does.</summary>
    private static async Task<(RegistryLogin?, string?)> RunHelperAsync(string name, string server, CancellationToken cancellationToken)
    {
        if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            return (null, $"credential helper name '{name}' is not a plain name");
        var program = $"docker-credential-{name}";
        using var process = new Process
        {
            StartInfo = new ProcessStartInfo(program, "get")
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            },
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, $"credential helper {program} is configured for this registry but not on PATH");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HelperTimeout);
        await process.StandardInput.WriteAsync(server);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (null, $"credential helper {program} gave no answer within {HelperTimeout.TotalSeconds} s");
        }
        var text = await output;
        if (process.ExitCode != 0)
        {
            // docker's helpers say so on stdout when they hold nothing for the server: anonymous, like docker.
            var message = (text + await error).Trim();
            return message.Contains("credentials not found", StringComparison.OrdinalIgnoreCase)
                ? (null, null)
                : (null, $"credential helper {program} failed (exit {process.ExitCode}): {Shorten(message)}");
        }
        try
        {
            using var answer = JsonDocument.Parse(text);
            return Property(answer.RootElement, "Username") is { ValueKind: JsonValueKind.String } user
                   && Property(answer.RootElement, "Secret") is { ValueKind: JsonValueKind.String } secret
                ? (new RegistryLogin(user.GetString()!, secret.GetString()!, program), null)
                : (null, $"credential helper {program} answered without Username and Secret");
        }
        catch (JsonException)
        {
            return (null, $"credential helper {program} answered something that is not JSON");
        }
    }

    private static JsonElement? Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : null;

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "...";
}
