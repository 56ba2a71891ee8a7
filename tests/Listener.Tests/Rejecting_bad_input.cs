using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.Listener.Tests.Fixtures;

namespace RegistryIntegrity.Listener.Tests;

/// <summary>
/// Every kind of bad notification gets its defined answer: 401 without credentials, and otherwise
/// (another content type, a body beyond the size limit, cut) 200 with the envelope quarantined and
/// nothing published (an authenticated registry must never be blocked by its own bad event).
/// </summary>
public class Rejecting_bad_input(ListenerApp app) : IClassFixture<ListenerApp>
{
    private const string V1 = "application/vnd.docker.distribution.events.v1+json";
    private static readonly string[] Actions = ["push", "pull", "mount", "delete", "unknown"];

    public enum Answer { Quarantined, QuarantinedCut, Unauthorized }

    public sealed record Case(string Name, byte[] Body, Answer Expected, string? ContentType = V1, bool Authorized = true)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases()
    {
        var cases = new TheoryData<Case>();
        void Quarantined(string name, string body) => cases.Add(new Case(name, Encoding.UTF8.GetBytes(body), Answer.Quarantined));
        void Mutated(string name, Action<JsonObject> mutate, string fixture = "manifest-push-by-tag") => cases.Add(new Case(name, Mutate(fixture, mutate), Answer.Quarantined));
        void Target(string name, string field, JsonNode? value, string fixture = "manifest-push-by-tag") => Mutated(name, e => e["target"]![field] = value, fixture);

        // Not JSON, or not an envelope.
        Quarantined("empty body", "");
        Quarantined("whitespace only", "  \n ");
        Quarantined("unterminated", "{\"events\": [");
        Quarantined("trailing garbage", Encoding.UTF8.GetString(RegistryFixtures.Body("manifest-push-by-tag")) + " x");
        Quarantined("a bare string", "\"events\"");
        Quarantined("an array", "[{\"action\": \"push\"}]");
        Quarantined("comments", "/* hi */ {\"events\": []}");
        Quarantined("single quotes", "{'events': []}");
        Quarantined("no events", "{}");
        Quarantined("events empty", "{\"events\": []}");
        Quarantined("events null", "{\"events\": null}");
        Quarantined("event null", "{\"events\": [null]}");
        Quarantined("more events than allowed", "{\"events\": [" + string.Join(',', Enumerable.Repeat("{}", 300)) + "]}");
        cases.Add(new Case("invalid UTF-8", [.. "{\"events\": [{\"action\": \""u8, 0xC3, 0x28, .. "\"}]}"u8], Answer.Quarantined));
        cases.Add(new Case("NUL bytes", [.. "{\"events\": [\0]}"u8], Answer.Quarantined));

        // Wrong types.
        Mutated("id is a number", e => e["id"] = 42);
        Mutated("timestamp is not a time", e => e["timestamp"] = "yesterday");
        Mutated("timestamp is a number", e => e["timestamp"] = 1_700_000_000);
        Mutated("action is an array", e => e["action"] = new JsonArray("push"));
        Mutated("target is a string", e => e["target"] = "fix/app");
        Mutated("source is a number", e => e["source"] = 7);
        Target("size is a string", "size", "big");
        Target("size overflows a long", "size", JsonNode.Parse("1e400"));
        Target("digest is an object", "digest", new JsonObject());
        Quarantined("events is an object", "{\"events\": {\"0\": {}}}");

        // Deep nesting.
        Quarantined("deeply nested arrays", "{\"events\": " + new string('[', 10_000) + new string(']', 10_000) + "}");
        Mutated("deeply nested unknown field", e => e["actor"] = JsonNode.Parse(string.Concat(Enumerable.Repeat("{\"a\":", 64)) + "1" + new string('}', 64)));

        // Huge strings (under the 64 KiB limit of the test app).
        Target("huge repository", "repository", new string('a', 60_000));
        Target("huge tag", "tag", new string('t', 60_000));
        Target("huge media type", "mediaType", "application/" + new string('x', 60_000));
        Mutated("huge id", e => e["id"] = new string('1', 60_000));

        // Invalid digests.
        Target("digest without algorithm", "digest", new string('a', 64));
        Target("digest too short", "digest", "sha256:" + new string('a', 63));
        Target("digest too long", "digest", "sha256:" + new string('a', 65));
        Target("digest in upper case", "digest", "sha256:" + new string('A', 64));
        Target("digest of an unknown algorithm", "digest", "sha1:" + new string('a', 40));
        Target("digest with a newline", "digest", "sha256:" + new string('a', 64) + "\n");
        Target("delete with a bad digest", "digest", "sha256:zz", "manifest-delete-by-digest");

        // Invalid repository names, path traversal included.
        foreach (var name in new[] { "Fix/App", "-app", "app-", "a//b", "/app", "app/", "a/../b", "../etc/passwd", "..", "fix/app%2f..%2fx", "fix\\app", "fix/app?x=1", "fix/app#x", "fix app", "fix/ａpp" })
            Target($"repository '{name}'", "repository", name);
        Target("from repository with a traversal", "fromRepository", "../other");
        Target("tag with a traversal", "tag", "../v1");
        Target("tag with a slash", "tag", "v1/x");
        Target("tag starting with a dot", "tag", ".v1");
        Target("media type with spaces", "mediaType", "application/json; x=1 y");
        Target("media type with an escape sequence", "mediaType", "application/vnd.oci.image.manifest.v1+json\u001b[2J");
        Target("media type with a NUL", "mediaType", "application/vnd.oci.image.manifest.v1+json\u0000");
        Target("media type with a line break", "mediaType", "application/json\nforged: log line");
        Target("media type with a non-ASCII letter", "mediaType", "application/vnd.oci.image.manifest.v1+jsón");

        // Missing fields.
        foreach (var field in new[] { "id", "timestamp", "action", "target" })
            Mutated($"no {field}", e => e.Remove(field));
        foreach (var field in new[] { "repository", "digest", "mediaType" })
            Mutated($"no target.{field}", e => e["target"]!.AsObject().Remove(field));
        Mutated("delete without digest or tag", e => e["target"]!.AsObject().Remove("digest"), "manifest-delete-by-digest");

        // Unknown actions.
        foreach (var action in new[] { "explode", "PUSH", "Push", "", "pull ", "push\u0000" })
            Mutated($"action '{action}'", e => e["action"] = action);

        // Answers other than 200.
        var valid = RegistryFixtures.Body("manifest-push-by-tag");
        cases.Add(new Case("no credentials", valid, Answer.Unauthorized, Authorized: false));
        cases.Add(new Case("text/plain", valid, Answer.Quarantined, "text/plain"));
        cases.Add(new Case("form data", valid, Answer.Quarantined, "multipart/form-data; boundary=x"));
        cases.Add(new Case("no content type", valid, Answer.Quarantined, null));
        cases.Add(new Case("a body over the limit", Encoding.UTF8.GetBytes("{\"events\": [\"" + new string('x', 70_000) + "\"]}"), Answer.QuarantinedCut));
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_bad_notification_gets_its_defined_answer_and_nothing_is_published(Case badInput)
    {
        var client = badInput.Authorized ? app.CreateAuthorizedClient() : app.CreateClient();
        var content = new ByteArrayContent(badInput.Body);
        if (badInput.ContentType is not null)
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(badInput.ContentType);
        var published = Published();
        var quarantined = app.Quarantine.Count;

        var response = await client.PostAsync("/v1/events", content);

        Assert.Equal(badInput.Expected == Answer.Unauthorized ? HttpStatusCode.Unauthorized : HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(published, Published());
        Assert.Equal(quarantined + (badInput.Expected == Answer.Unauthorized ? 0 : 1), app.Quarantine.Count);
        if (badInput.Expected == Answer.Quarantined)
            Assert.Equal(badInput.Body, app.Quarantine.Recent[^1].Body.ToArray());
        if (badInput.Expected == Answer.QuarantinedCut)
            Assert.Equal(badInput.Body.Take(app.Quarantine.Recent[^1].Body.Length), app.Quarantine.Recent[^1].Body.ToArray());
    }

    private double Published() => Actions.Sum(a => app.Metrics.Events.WithLabels(a, "published").Value);

    private static byte[] Mutate(string fixture, Action<JsonObject> mutate)
    {
        var envelope = JsonNode.Parse(RegistryFixtures.Body(fixture))!;
        mutate(envelope["events"]![0]!.AsObject());
        return Encoding.UTF8.GetBytes(envelope.ToJsonString());
    }
}
