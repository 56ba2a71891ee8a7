using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Verifier.Tests.Support;

/// <summary>
/// A registry in memory, at the HTTP level: manifests and blobs by digest, answered the way
/// distribution answers (404 with an error code and the API version header). For what a real
/// registry cannot be made to do: lie, fail on demand, nest deeper than anyone would.
/// </summary>
public sealed class FakeRegistry : HttpMessageHandler
{
    public static readonly Uri BaseUrl = new("http://registry.test/");

    private readonly ConcurrentDictionary<string, (string MediaType, byte[] Body)> _manifests = new();
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new();

    public ConcurrentQueue<(HttpMethod Method, Uri Uri, AuthenticationHeaderValue? Authorization, string Accept)> Requests { get; } = new();

    /// <summary>Answers instead of the registry when it returns a response.</summary>
    public Func<HttpRequestMessage, HttpResponseMessage?>? Intercept { get; set; }

    public string AddManifest(string mediaType, byte[] body, string? digest = null)
    {
        digest ??= RegistryPusher.ComputeDigest(body);
        _manifests[digest] = (mediaType, body);
        return digest;
    }

    public string AddManifest(JsonObject manifest) =>
        AddManifest(manifest["mediaType"]!.GetValue<string>(), Encoding.UTF8.GetBytes(manifest.ToJsonString()));

    public JsonObject AddBlob(string content, string mediaType = MediaTypes.OciLayer)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        var digest = RegistryPusher.ComputeDigest(bytes);
        _blobs[digest] = bytes;
        return Descriptor(mediaType, digest, bytes.Length);
    }

    public void RemoveBlob(string digest) => _blobs.TryRemove(digest, out _);

    public (string MediaType, byte[] Body) RemoveManifest(string digest) => _manifests.TryRemove(digest, out var manifest) ? manifest : throw new KeyNotFoundException(digest);

    public static JsonObject Descriptor(string mediaType, string digest, long size) =>
        new() { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };

    public JsonObject ImageManifest(int layers = 2, string mediaType = MediaTypes.OciManifest)
    {
        var config = AddBlob($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\"{Guid.NewGuid()}\"}}", MediaTypes.OciConfig);
        var layerArray = new JsonArray();
        for (var i = 0; i < layers; i++)
            layerArray.Add(AddBlob($"layer {i} {Guid.NewGuid()}"));
        return new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = mediaType, ["config"] = config, ["layers"] = layerArray };
    }

    /// <summary>An index of children this registry holds, each descriptor with the child's true media type and size.</summary>
    public JsonObject Index(params string[] childDigests) => new()
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = MediaTypes.OciIndex,
        ["manifests"] = new JsonArray([.. childDigests.Select(d => (JsonNode)(_manifests.TryGetValue(d, out var child)
            ? Descriptor(child.MediaType, d, child.Body.Length)
            : Descriptor(MediaTypes.OciManifest, d, 100)))]),
    };

    public int CountRequests(string pathPart) => Requests.Count(r => r.Uri.AbsolutePath.Contains(pathPart, StringComparison.Ordinal));

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Enqueue((request.Method, request.RequestUri!, request.Headers.Authorization, string.Join(",", request.Headers.Accept)));
        var response = Intercept?.Invoke(request) ?? Answer(request);
        response.RequestMessage = request;
        return Task.FromResult(response);
    }

    private HttpResponseMessage Answer(HttpRequestMessage request)
    {
        var path = request.RequestUri!.AbsolutePath;
        var digest = path[(path.LastIndexOf('/') + 1)..];
        if (path.Contains("/manifests/", StringComparison.Ordinal))
        {
            if (!_manifests.TryGetValue(digest, out var manifest))
                return Error(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(request.Method == HttpMethod.Head ? [] : manifest.Body) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
            response.Headers.Add("Docker-Content-Digest", digest);
            return response;
        }
        if (path.Contains("/blobs/", StringComparison.Ordinal))
        {
            if (!_blobs.TryGetValue(digest, out var blob))
                return Error(HttpStatusCode.NotFound, "BLOB_UNKNOWN");
            if (request.Method == HttpMethod.Head)
            {
                var head = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
                head.Content.Headers.ContentLength = blob.Length;
                return head;
            }
            return request.Headers.Range is null
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(blob) }
                : new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(blob[..1]) };
        }
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
    }

    public static HttpResponseMessage Error(HttpStatusCode status, string code)
    {
        var response = new HttpResponseMessage(status)
        {
            Content = new StringContent($"{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"{code.ToLowerInvariant()}\"}}]}}", Encoding.UTF8, "application/json"),
        };
        response.Headers.Add("Docker-Distribution-API-Version", "registry/2.0");
        return response;
    }
}
