using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.Listener.Tests.Fixtures;

namespace RegistryIntegrity.Listener.Tests;

/// <summary>
/// 10 000 seeded random mutations of the real registry envelopes (byte flips, truncation, field
/// deletions, type swaps, inserted noise). From an authenticated registry with the right content
/// type each must be answered 200 (published, ignored or quarantined), never 5xx; the app must
/// still work afterwards and its memory must not keep growing.
/// </summary>
public class Surviving_random_mutations(ListenerApp app) : IClassFixture<ListenerApp>
{
    private const int Seed = 20261126;
    private const int Mutations = 10_000;
    private const string V1 = "application/vnd.docker.distribution.events.v1+json";
    private static readonly string[] Actions = ["push", "pull", "mount", "delete", "unknown"];
    private static readonly string[] Outcomes = ["published", "ignored", "quarantined", "rejected"];

    /// <summary>
    /// Generous: about 6 MiB was measured, mostly the in-memory test harness keeping every message
    /// sent (a real broker takes them out of the process). Keeping each request's body and parsed
    /// envelope would exceed it.
    /// </summary>
    private const long MaxGrowthBytes = 24L * 1024 * 1024;

    [Fact]
    public async Task Ten_thousand_mutated_envelopes_are_each_answered_200_and_the_app_stays_up_with_bounded_memory()
    {
        var random = new Random(Seed);
        var fixtures = RegistryFixtures.EnvelopeNames.Order(StringComparer.Ordinal).Select(RegistryFixtures.Body).ToArray();
        var client = app.CreateAuthorizedClient();
        var counted = TotalCounted();
        var quarantinedBefore = app.Quarantine.Count;
        var unexpected = new List<string>();
        long memoryAfterFirstThousand = 0;

        for (var i = 0; i < Mutations; i++)
        {
            var (kind, body) = Mutate(random, fixtures[random.Next(fixtures.Length)]);
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
            using var response = await client.PostAsync("/v1/events", content);
            if (response.StatusCode != HttpStatusCode.OK && unexpected.Count < 10)
                unexpected.Add($"#{i} {kind} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)[..Math.Min(body.Length, 300)]}");
            if (i == 999)
                memoryAfterFirstThousand = SettledMemory();
        }
        var memoryAtTheEnd = SettledMemory();

        Assert.Empty(unexpected);
        // Every request ended in at least one counted outcome: none fell through unaccounted.
        Assert.True(TotalCounted() - counted >= Mutations, $"{TotalCounted() - counted} outcomes counted for {Mutations} requests.");
        Assert.InRange(app.Quarantine.Count - quarantinedBefore, Mutations / 10, Mutations - 1);
        Assert.True(memoryAtTheEnd - memoryAfterFirstThousand < MaxGrowthBytes,
            $"Memory grew by {(memoryAtTheEnd - memoryAfterFirstThousand) / 1024 / 1024} MiB between the first and the last thousand.");

        var afterwards = new ByteArrayContent(RegistryFixtures.Body("manifest-delete-by-digest"));
        afterwards.Headers.ContentType = MediaTypeHeaderValue.Parse(V1);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/events", afterwards)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz/live")).StatusCode);
    }

    private double TotalCounted() =>
        Actions.SelectMany(a => Outcomes.Select(o => app.Metrics.Events.WithLabels(a, o).Value)).Sum();

    private static long SettledMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static (string Kind, byte[] Body) Mutate(Random random, byte[] original)
    {
        switch (random.Next(6))
        {
            case 0:
            {
                var body = (byte[])original.Clone();
                for (var flips = random.Next(1, 9); flips > 0; flips--)
                    body[random.Next(body.Length)] = (byte)random.Next(256);
                return ("byte flips", body);
            }
            case 1:
                return ("truncation", original[..random.Next(original.Length)]);
            case 2:
            {
                var body = new List<byte>(original);
                var noise = new byte[random.Next(1, 16)];
                random.NextBytes(noise);
                body.InsertRange(random.Next(body.Count), noise);
                return ("inserted noise", [.. body]);
            }
            case 3:
                return ("field deletion", Restructure(random, original, (parent, key) => parent.Remove(key)));
            case 4:
                return ("type swap", Restructure(random, original, (parent, key) => parent[key] = RandomValue(random)));
            default:
                return ("string edit", Restructure(random, original, (parent, key) =>
                {
                    if (parent[key] is JsonValue value && value.TryGetValue<string>(out var text))
                        parent[key] = EditString(random, text);
                    else
                        parent[key] = RandomValue(random);
                }));
        }
    }

    /// <summary>Applies <paramref name="change"/> to a random property of a random object in the envelope.</summary>
    private static byte[] Restructure(Random random, byte[] original, Action<JsonObject, string> change)
    {
        var root = JsonNode.Parse(original)!.AsObject();
        var objects = new List<JsonObject>();
        Collect(root, objects);
        for (var changes = random.Next(1, 4); changes > 0; changes--)
        {
            var target = objects[random.Next(objects.Count)];
            if (target.Count == 0)
                continue;
            var key = target.ElementAt(random.Next(target.Count)).Key;
            change(target, key);
            objects.Clear();
            Collect(root, objects);
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static void Collect(JsonNode? node, List<JsonObject> objects)
    {
        switch (node)
        {
            case JsonObject obj:
                objects.Add(obj);
                foreach (var (_, child) in obj)
                    Collect(child, objects);
                break;
            case JsonArray array:
                foreach (var child in array)
                    Collect(child, objects);
                break;
        }
    }

    private static JsonNode? RandomValue(Random random) => random.Next(10) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => JsonValue.Create(random.NextInt64(long.MinValue, long.MaxValue)),
        3 => JsonValue.Create(random.NextDouble() * 1e300),
        4 => JsonValue.Create(""),
        5 => JsonValue.Create(new string('x', random.Next(1, 5000))),
        6 => new JsonArray(JsonValue.Create(1), JsonValue.Create("a")),
        7 => new JsonObject { ["nested"] = new JsonObject { ["deeper"] = 1 } },
        8 => JsonValue.Create("sha256:" + new string('a', 64)),
        _ => JsonValue.Create("../" + random.Next()),
    };

    private static string EditString(Random random, string text)
    {
        if (text.Length == 0)
            return "x";
        var position = random.Next(text.Length);
        return random.Next(4) switch
        {
            0 => text.Remove(position, 1),
            1 => text.Insert(position, ((char)random.Next(0, 0x3000)).ToString()),
            2 => text.ToUpperInvariant(),
            _ => text[..position],
        };
    }
}
