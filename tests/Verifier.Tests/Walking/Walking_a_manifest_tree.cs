using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Walking;

/// <summary>The walker against a registry in memory: the cases a real registry cannot be made to produce on demand.</summary>
public sealed class Walking_a_manifest_tree : IDisposable
{
    private const string Repo = "team/app";
    private readonly FakeRegistry _registry = new();
    private ServiceProvider? _services;

    private Task<WalkResult> WalkAsync(string digest, params (string Key, string? Value)[] settings)
    {
        _services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl, settings), _registry);
        return _services.GetRequiredService<ManifestWalker>().WalkAsync(Repo, digest, CancellationToken.None);
    }

    public void Dispose() => _services?.Dispose();

    [Fact]
    public async Task A_nested_index_is_walked_to_its_leaves_and_each_blob_is_checked_once()
    {
        var image = _registry.ImageManifest();
        var shared = image["layers"]![0]!.DeepClone();
        var other = _registry.ImageManifest();
        other["layers"]!.AsArray().Add(shared);
        var imageDigest = _registry.AddManifest(image);
        var otherDigest = _registry.AddManifest(other);
        var inner = _registry.AddManifest(_registry.Index(imageDigest, otherDigest));
        var outer = _registry.AddManifest(_registry.Index(inner, imageDigest));

        var walk = await WalkAsync(outer);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(4, walk.Manifests.Count);
        Assert.Equal(1, _registry.CountRequests($"/manifests/{imageDigest}"));
        Assert.Equal(1, _registry.CountRequests($"/blobs/{shared["digest"]!.GetValue<string>()}"));
        Assert.Contains(new Edge(outer, inner, ReferenceKind.ChildManifest), walk.Edges);
        Assert.Contains(new Edge(inner, otherDigest, ReferenceKind.ChildManifest), walk.Edges);
    }

    /// <remarks>
    /// On the real registry 2.8.2 with filesystem storage a push to such a name fails (500: the
    /// storage driver refuses ':' and the push of "MyOrg/..." failed too), so this is shown at the HTTP level.
    /// </remarks>
    [Theory]
    [InlineData("MyOrg/app")]
    [InlineData("host:5000/app")]
    [InlineData("[fd00:1:2::3]:5000/app")]
    public async Task A_repository_whose_first_component_looks_like_a_domain_is_walked_at_its_own_path(string repository)
    {
        var image = _registry.ImageManifest();
        var digest = _registry.AddManifest(image);
        _services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl), _registry);

        var walk = await _services.GetRequiredService<ManifestWalker>().WalkAsync(repository, digest, CancellationToken.None);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Contains(_registry.Requests, r => Uri.UnescapeDataString(r.Uri.AbsolutePath) == $"/v2/{repository}/manifests/{digest}");
    }

    [Fact]
    public async Task Every_manifest_request_accepts_OCI_and_Docker_types()
    {
        var digest = _registry.AddManifest(_registry.ImageManifest());
        await WalkAsync(digest);

        var accept = _registry.Requests.Single(r => r.Uri.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal)).Accept;
        foreach (var mediaType in ManifestMediaTypes.Accept)
            Assert.Contains(mediaType, accept, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_child_makes_the_index_broken_with_the_path_to_it()
    {
        var present = _registry.AddManifest(_registry.ImageManifest());
        var gone = "sha256:" + new string('d', 64);
        var index = _registry.AddManifest(_registry.Index(present, gone));

        var walk = await WalkAsync(index);

        Assert.Equal(VerdictResult.Broken, walk.Result);
        var missing = Assert.Single(walk.Missing);
        Assert.Equal(("child-manifest", gone, 404, "MANIFEST_UNKNOWN"), (missing.Kind, missing.Digest, missing.StatusCode, missing.ErrorCode));
        Assert.Equal([index], missing.Path);
    }

    [Fact]
    public async Task Nesting_deeper_than_the_limit_is_indeterminate_not_followed()
    {
        var digest = _registry.AddManifest(_registry.ImageManifest());
        for (var level = 0; level <= ManifestWalker.MaxDepth + 1; level++)
            digest = _registry.AddManifest(_registry.Index(digest));

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains($"nested deeper than {ManifestWalker.MaxDepth} levels", StringComparison.Ordinal));
        Assert.Equal(0, _registry.CountRequests("/blobs/"));
    }

    [Fact]
    public async Task A_registry_serving_a_reference_cycle_cannot_hang_the_walk()
    {
        // A real cycle needs two manifests that contain each other's digest, which hashing rules out;
        // a registry can still claim one by serving other bytes under a digest. The walk must end.
        var a = "sha256:" + new string('a', 64);
        var b = _registry.AddManifest(_registry.Index(a));
        _registry.AddManifest(MediaTypes.OciIndex, Encoding.UTF8.GetBytes(_registry.Index(b).ToJsonString()), digest: a);

        var walk = await WalkAsync(a).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains("does not match its digest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Schema1_layers_are_checked_once_each_and_its_body_is_not_held_to_the_digest()
    {
        var layer = _registry.AddBlob("schema1 layer");
        var body = $$"""
            {"schemaVersion":1,"name":"team/app","tag":"v1","architecture":"amd64",
             "fsLayers":[{"blobSum":"{{layer["digest"]}}"},{"blobSum":"{{layer["digest"]}}"}],
             "history":[{"v1Compatibility":"{}"},{"v1Compatibility":"{}"}],
             "signatures":[{"header":{"alg":"ES256"},"signature":"c2ln","protected":"e30"}]}
            """;
        // The digest of a signed schema1 manifest covers the payload without its signatures.
        var digest = _registry.AddManifest(ManifestMediaTypes.DockerSchema1Signed, Encoding.UTF8.GetBytes(body), "sha256:" + new string('1', 64));

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(ManifestMediaTypes.DockerSchema1Signed, walk.MediaType);
        Assert.Equal(1, _registry.CountRequests("/blobs/"));
    }

    [Fact]
    public async Task A_schema1_content_type_does_not_excuse_an_index_from_its_digest()
    {
        var child = _registry.AddManifest(_registry.ImageManifest());
        var digest = _registry.AddManifest(ManifestMediaTypes.DockerSchema1Signed, Encoding.UTF8.GetBytes(_registry.Index(child).ToJsonString()), "sha256:" + new string('2', 64));

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Equal(0, _registry.CountRequests($"/manifests/{child}"));
    }

    [Fact]
    public async Task Foreign_layers_are_not_required_and_a_subject_is_a_back_reference_not_a_child()
    {
        var subject = "sha256:" + new string('5', 64);
        var manifest = _registry.ImageManifest(layers: 1);
        var foreign = FakeRegistry.Descriptor("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "sha256:" + new string('f', 64), 1000);
        foreign["urls"] = new JsonArray("https://example.invalid/layer.tar.gz");
        manifest["layers"]!.AsArray().Add(foreign);
        manifest["subject"] = FakeRegistry.Descriptor(MediaTypes.OciManifest, subject, 500);
        var digest = _registry.AddManifest(manifest);

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(subject, walk.Subjects[digest]);
        Assert.Equal(0, _registry.CountRequests(subject));
        Assert.Equal(0, _registry.CountRequests(foreign["digest"]!.GetValue<string>()));
        Assert.DoesNotContain(walk.Edges, e => e.Child == subject);
    }

    [Fact]
    public async Task The_OCI_empty_config_is_a_blob_that_must_exist()
    {
        const string EmptyConfigDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        var manifest = _registry.ImageManifest(layers: 1);
        manifest["config"] = FakeRegistry.Descriptor("application/vnd.oci.empty.v1+json", EmptyConfigDigest, 2);
        manifest["artifactType"] = "application/vnd.example.sbom+json";
        var digest = _registry.AddManifest(manifest);

        var missing = await WalkAsync(digest);
        Assert.Equal(VerdictResult.Broken, missing.Result);
        Assert.Equal(("config", EmptyConfigDigest), (missing.Missing[0].Kind, missing.Missing[0].Digest));

        Assert.Equal(EmptyConfigDigest, _registry.AddBlob("{}", "application/vnd.oci.empty.v1+json")["digest"]!.GetValue<string>());
        Assert.Equal(VerdictResult.Healthy, (await WalkAsync(digest)).Result);
    }

    [Fact]
    public async Task A_manifest_over_4_MiB_is_refused_as_indeterminate()
    {
        var manifest = _registry.ImageManifest(layers: 1);
        manifest["annotations"] = new JsonObject { ["padding"] = new string('x', 4 * 1024 * 1024) };
        var digest = _registry.AddManifest(manifest);

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains("larger than 4194304 bytes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "UNAUTHORIZED", "unauthorized")]
    [InlineData(HttpStatusCode.Forbidden, "DENIED", "denied")]
    [InlineData(HttpStatusCode.InternalServerError, "UNKNOWN", "registry error")]
    [InlineData(HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS", "rate limited")]
    public async Task Only_a_404_is_missing_other_failures_are_indeterminate_with_the_reason(HttpStatusCode status, string code, string reason)
    {
        var manifest = _registry.ImageManifest(layers: 1);
        var layer = manifest["layers"]![0]!["digest"]!.GetValue<string>();
        var digest = _registry.AddManifest(manifest);
        _registry.Intercept = request => request.RequestUri!.AbsolutePath.EndsWith(layer, StringComparison.Ordinal) ? FakeRegistry.Error(status, code) : null;

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Empty(walk.Missing);
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains(reason, StringComparison.Ordinal) && r.Contains(layer, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_404_that_does_not_come_from_the_registry_is_not_missing()
    {
        var manifest = _registry.ImageManifest(layers: 1);
        var layer = manifest["layers"]![0]!["digest"]!.GetValue<string>();
        var digest = _registry.AddManifest(manifest);
        _registry.Intercept = request => request.RequestUri!.AbsolutePath.EndsWith(layer, StringComparison.Ordinal)
            ? new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("<html>proxy: no route</html>") }
            : null;

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains("not the registry", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_blob_answered_without_its_bytes_is_missing_with_a_ranged_GET_but_not_with_HEAD()
    {
        var manifest = _registry.ImageManifest(layers: 1);
        var layer = manifest["layers"]![0]!["digest"]!.GetValue<string>();
        var digest = _registry.AddManifest(manifest);
        // What 2.8.2 does for a blob swept behind its back while its descriptor cache remembers it.
        var size = manifest["layers"]![0]!["size"]!.GetValue<long>();
        _registry.Intercept = request =>
        {
            if (!request.RequestUri!.AbsolutePath.EndsWith(layer, StringComparison.Ordinal))
                return null;
            var empty = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
            empty.Content.Headers.ContentLength = size; // the right length, and no bytes
            return empty;
        };

        var ranged = await WalkAsync(digest);
        Assert.Equal(VerdictResult.Broken, ranged.Result);
        Assert.Equal(("layer", layer, "EMPTY_BODY"), (ranged.Missing[0].Kind, ranged.Missing[0].Digest, ranged.Missing[0].ErrorCode));

        var head = await WalkAsync(digest, ("BlobCheck", "Head"));
        Assert.Equal(VerdictResult.Healthy, head.Result);
        Assert.Contains(_registry.Requests, r => r.Method == HttpMethod.Head && r.Uri.AbsolutePath.EndsWith(layer, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_child_manifest_claimed_but_served_without_its_bytes_twice_is_missing()
    {
        var child = _registry.AddManifest(_registry.ImageManifest());
        var index = _registry.AddManifest(_registry.Index(child));
        // 2.8.2 with its descriptor cache, after the child's data file was removed: 200, the right length, no bytes.
        _registry.Intercept = request =>
        {
            if (!request.RequestUri!.AbsolutePath.EndsWith(child, StringComparison.Ordinal))
                return null;
            var empty = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
            empty.Content.Headers.ContentLength = 500;
            return empty;
        };

        var walk = await WalkAsync(index);

        Assert.Equal(VerdictResult.Broken, walk.Result);
        Assert.Equal((child, RegistryClient.EmptyBody), (walk.Missing[0].Digest, walk.Missing[0].ErrorCode));
        Assert.Equal(2, _registry.CountRequests($"/manifests/{child}"));
    }

    [Fact]
    public async Task A_registry_that_cannot_be_reached_is_indeterminate_never_broken()
    {
        var digest = "sha256:" + new string('9', 64);
        _registry.Intercept = _ => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");

        var walk = await WalkAsync(digest);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Empty(walk.Missing);
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains("unreachable", StringComparison.Ordinal));
    }
}
