using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Npgsql;
using RabbitMQ.Client;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Faults.Tests;

/// <summary>The product with distinctive secrets: a webhook token and a registry (htpasswd) password.</summary>
public sealed class SecretiveProduct : FaultyProduct
{
    public const string Token = "whk-Zq81TokenSecret-6d2f90aa";
    public const string User = "integrity-reader";
    public const string Password = "regPw-Xv47PasswordSecret-b1e3";
    private readonly string _folder = Directory.CreateTempSubdirectory("rit-secrets-").FullName;

    public override string WebhookToken => Token;
    public override (string User, string Password)? RegistryCredentials => (User, Password);

    public static IEnumerable<string> Secrets =>
        [Token, Password, Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"))];

    protected override async Task<IReadOnlyDictionary<string, string>?> RegistryEnvironmentAsync()
    {
        return await HtpasswdRegistry.EnvironmentAsync(_folder, User, Password, "integrity-secrets");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}

public sealed class Keeping_secrets(SecretiveProduct product) : IClassFixture<SecretiveProduct>
{
    [Fact]
    public async Task No_token_or_password_appears_in_outputs_metrics_stored_rows_or_quarantined_messages()
    {
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("secrets/app", "v1", layers: 1, layerSize: 256);
        var index = await registry.PushIndexAsync("secrets/multi", "v1");
        using var listener = new HttpClient { BaseAddress = product.ListenerBase };
        // A wrong token, a token in the wrong scheme, and a malformed body with the right token: each is a chance to log what it was sent.
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(listener, new AuthenticationHeaderValue("Bearer", SecretiveProduct.Token + "x"), "{}"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(listener, new AuthenticationHeaderValue("Basic", SecretiveProduct.Token), "{}"));
        Assert.Equal(HttpStatusCode.OK, await PostAsync(listener, new AuthenticationHeaderValue("Bearer", SecretiveProduct.Token), "{\"events\":[{\"action\":\"push\"}]}"));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await product.VerdictsAsync()).ContainsKey(("secrets/multi", index.Digest)) || !(await product.VerdictsAsync()).ContainsKey(("secrets/app", image.Digest)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no verdicts\n{product.Verifier.Output}");
            await Task.Delay(200);
        }
        Assert.Equal("healthy", (await product.VerdictsAsync())[("secrets/multi", index.Digest)]);
        // The verb reads the same configuration, password included.
        var (_, verbOutput) = await product.RunVerifierVerbAsync("check", $"{product.Stack.RegistryUri.Authority}/secrets/app:v1", "--plain-http");

        using var verifier = new HttpClient { BaseAddress = product.VerifierBase };
        var produced = new Dictionary<string, string>
        {
            ["listener output"] = product.Listener.Output,
            ["verifier output"] = product.Verifier.Output,
            ["check verb output"] = verbOutput,
            ["listener metrics"] = await listener.GetStringAsync("/metrics"),
            ["verifier metrics"] = await verifier.GetStringAsync("/metrics"),
            ["stored rows"] = await DumpStoreAsync(),
            ["quarantined messages"] = await DumpQuarantineAsync(),
        };

        Assert.Contains("healthy", produced["stored rows"], StringComparison.Ordinal);
        Assert.Contains("quarantine-reason", produced["quarantined messages"], StringComparison.Ordinal);
        foreach (var (what, text) in produced)
        {
            foreach (var secret in SecretiveProduct.Secrets)
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{what} contains a secret ({secret[..6]}...)");
        }
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient http, AuthenticationHeaderValue authorization, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = authorization;
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Every row of every table of the store, as text.</summary>
    private async Task<string> DumpStoreAsync()
    {
        await using var connection = new NpgsqlConnection(product.Connection);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                tables.Add(reader.GetString(0));
        }
        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            await using var select = new NpgsqlCommand($"SELECT * FROM \"{table}\"", connection);
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                    dump.Append(reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('\t');
                dump.AppendLine();
            }
        }
        return dump.ToString();
    }

    /// <summary>Headers and properties of every quarantined message (left in the queue). The body is the registry's envelope as sent, so only its metadata is the Listener's own output.</summary>
    private async Task<string> DumpQuarantineAsync()
    {
        var factory = new ConnectionFactory { Uri = product.Stack.RabbitMqUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var dump = new StringBuilder();
        while (await channel.BasicGetAsync("registry-integrity-quarantine", autoAck: false) is { } message)
        {
            dump.AppendLine(message.BasicProperties.ContentType).AppendLine(message.BasicProperties.MessageId);
            foreach (var (name, value) in message.BasicProperties.Headers ?? new Dictionary<string, object?>())
                dump.Append(name).Append('=').AppendLine(value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return dump.ToString();
    }
}
