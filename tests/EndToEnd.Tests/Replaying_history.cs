using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

namespace RegistryIntegrity.EndToEnd.Tests;

public sealed class Replaying_stored_events(RunningProduct product) : IClassFixture<RunningProduct>
{
    [Fact]
    public async Task Re_creates_the_same_verdicts_in_an_empty_store()
    {
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        using var registry = product.Registry();
        var healthy = await registry.PushImageAsync("replay/healthy", "v1");
        var broken = await registry.PushImageAsync("replay/broken", "v1");
        await product.WaitForVerdictAsync(healthy.Repository, healthy.Digest, "healthy", TimeSpan.FromSeconds(30));
        await registry.DeleteBlobAsync(broken.Repository, broken.ConfigDigest);
        await product.WaitForVerdictAsync(broken.Repository, broken.Digest, "broken", TimeSpan.FromSeconds(30));
        var original = product.VerifierEnvironment["Store__ConnectionString"];

        // Two manifest pushes and the blob delete. A delete is recorded after the re-checks it causes, so it may lag the verdict.
        var dryRun = "";
        for (var attempt = 0; attempt < 10 && !dryRun.Contains("3 event(s)", StringComparison.Ordinal); attempt++)
        {
            var (dryRunExit, dryRunOutput) = await product.RunVerifierVerbAsync("replay", "--from", from.ToString("O"), "--source-store", original, "--dry-run");
            Assert.True(dryRunExit == 0, dryRunOutput);
            dryRun = dryRunOutput;
        }
        Assert.Contains("3 event(s)", dryRun, StringComparison.Ordinal);

        await product.RestartVerifierAsync(new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = $"Data Source={Path.Combine(product.DataDir, "empty.db")}",
        });
        var status = await product.VerifierApi.GetFromJsonAsync<JsonElement>("/v1/status");
        var manifests = status.GetProperty("manifests");
        Assert.Equal(0, manifests.GetProperty("healthy").GetInt64() + manifests.GetProperty("broken").GetInt64());

        var (exitCode, output) = await product.RunVerifierVerbAsync("replay", "--from", from.ToString("O"), "--source-store", original);
        Assert.True(exitCode == 0, output);

        await product.WaitForVerdictAsync(healthy.Repository, healthy.Digest, "healthy", TimeSpan.FromSeconds(30));
        var replayed = await product.WaitForVerdictAsync(broken.Repository, broken.Digest, "broken", TimeSpan.FromSeconds(30));
        Assert.Equal(broken.ConfigDigest, replayed.GetProperty("missing")[0].GetProperty("digest").GetString());
    }
}

public sealed class Replaying_failed_messages(VerifierWithoutEvents product) : IClassFixture<VerifierWithoutEvents>
{
    private const string EventsQueue = "registry-integrity-events";

    [Fact]
    public async Task Moves_a_message_from_the_error_queue_back_and_it_is_then_processed()
    {
        using var registry = product.Registry();
        var image = await registry.PushImageAsync("replay/errors", "v1");
        await PutIntoErrorQueueAsync(image.Repository, image.Digest);

        var (dryRunExit, dryRun) = await product.RunVerifierVerbAsync("replay-errors", "--dry-run");
        Assert.True(dryRunExit == 0, dryRun);
        Assert.Contains($"{EventsQueue}_error: 1 message(s)", dryRun, StringComparison.Ordinal);
        Assert.Contains("nothing moved", dryRun, StringComparison.Ordinal);

        var (exitCode, output) = await product.RunVerifierVerbAsync("replay-errors");
        Assert.True(exitCode == 0, output);
        Assert.Contains("1 message(s) moved", output, StringComparison.Ordinal);
        await product.WaitForVerdictAsync(image.Repository, image.Digest, "healthy", TimeSpan.FromSeconds(30));
        Assert.Equal(0u, await CountAsync($"{EventsQueue}_error"));
    }

    /// <summary>A MassTransit envelope of a ManifestPushed, as MassTransit leaves a message that failed all its retries.</summary>
    private async Task PutIntoErrorQueueAsync(string repository, string digest)
    {
        var envelope = new
        {
            messageId = Guid.NewGuid(),
            destinationAddress = $"rabbitmq://127.0.0.1/{EventsQueue}",
            messageType = new[] { "urn:message:RegistryIntegrity.Contracts:ManifestPushed" },
            message = new { eventId = Guid.NewGuid().ToString(), occurredAt = DateTimeOffset.UtcNow, repository, digest, tag = "v1" },
            sentTime = DateTimeOffset.UtcNow,
            headers = new Dictionary<string, object> { ["MT-Fault-Message"] = "the store was down" },
        };
        await using var connection = await new ConnectionFactory { Uri = product.Stack.RabbitMqUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        await channel.QueueDeclareAsync($"{EventsQueue}_error", durable: true, exclusive: false, autoDelete: false);
        var properties = new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true };
        await channel.BasicPublishAsync("", $"{EventsQueue}_error", mandatory: true, properties, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(envelope)));
    }

    private async Task<uint> CountAsync(string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = product.Stack.RabbitMqUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }
}
