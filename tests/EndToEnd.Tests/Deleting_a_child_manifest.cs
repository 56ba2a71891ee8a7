using Dapper;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace RegistryIntegrity.EndToEnd.Tests;

/// <summary>
/// The whole product, really started (registry 2.8.2 -> Listener process -> RabbitMQ -> Verifier
/// process): deleting one child of a tagged multi-arch index flags the index within 2 s of the
/// registry's delete event.
/// </summary>
public sealed class Deleting_a_child_manifest(RunningProduct product, ITestOutputHelper output) : IClassFixture<RunningProduct>
{
    [Fact]
    public async Task Flags_the_tagged_index_broken_naming_the_child_within_2_seconds_of_the_delete_event()
    {
        using var registry = product.Registry();
        var index = await registry.PushIndexAsync("e2e/multiarch", "v1", ["linux/amd64", "linux/arm64"], withAttestation: true);
        await product.WaitForVerdictAsync(index.Repository, index.Digest, "healthy", TimeSpan.FromSeconds(30));
        var child = index.Children.First(c => c.Platform == "linux/arm64");

        await registry.DeleteManifestAsync(index.Repository, child.Digest);
        var broken = await product.WaitForVerdictAsync(index.Repository, index.Digest, "broken", TimeSpan.FromSeconds(30));

        var missing = broken.GetProperty("missing").EnumerateArray().Single();
        Assert.Equal(child.Digest, missing.GetProperty("digest").GetString());
        Assert.Equal("child-manifest", missing.GetProperty("kind").GetString());
        Assert.Equal(["v1"], broken.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        // The registry's own timestamp of the delete event, as the Verifier stored it, against the verdict's.
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(product.DataDir, "verifier.db")};Mode=ReadOnly");
        // The delete event is recorded after the re-checks it causes, so it can lag the verdict a little.
        long? deletedAt = null;
        for (var attempt = 0; attempt < 50 && deletedAt is null; attempt++, await Task.Delay(100))
        {
            deletedAt = await connection.QuerySingleOrDefaultAsync<long?>(
                "SELECT occurred_ms FROM processed_events WHERE message_type = 'DigestDeleted' AND payload LIKE @digest", new { digest = $"%{child.Digest}%" });
        }
        Assert.NotNull(deletedAt);
        // A sweep walking the index when the child went can flag it first, stamped with its oldest answer: from
        // before the delete. The walk the event caused is saved before the event is recorded, and it is newer.
        var firstSeen = broken.GetProperty("checkedAt").GetDateTimeOffset().ToUnixTimeMilliseconds();
        var afterEvent = await product.WaitForVerdictAsync(index.Repository, index.Digest, "broken", TimeSpan.FromSeconds(5));
        var checkedAt = afterEvent.GetProperty("checkedAt").GetDateTimeOffset().ToUnixTimeMilliseconds();
        output.WriteLine($"delete event -> broken verdict: {checkedAt - deletedAt} ms (first seen broken as of {firstSeen - deletedAt} ms)");
        Assert.InRange(checkedAt - deletedAt.Value, 0, 2000);
    }
}
