using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Walking;

/// <summary>Every media type and case of the walk, pushed to and walked against the real registry 2.8.2.</summary>
[Collection(RealRegistryCollection.Name)]
public sealed class Walking_the_real_registry(RealRegistry registry) : IDisposable
{
    private const string EmptyConfigDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    private readonly RegistryPusher _pusher = new(registry.Uri);
    private readonly List<ServiceProvider> _services = [];

    public void Dispose()
    {
        _pusher.Dispose();
        _services.ForEach(s => s.Dispose());
    }

    private Task<WalkResult> WalkAsync(string repository, string digest, string blobCheck = "RangedGet")
    {
        var services = VerifierServices.Create(VerifierServices.Configuration(registry.Uri, ("BlobCheck", blobCheck)));
        _services.Add(services);
        return services.GetRequiredService<ManifestWalker>().WalkAsync(repository, digest, CancellationToken.None);
    }

    [Fact]
    public async Task A_multi_arch_OCI_index_with_attestation_children_is_healthy()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("walk"), "v1", ["linux/amd64", "linux/arm64"], withAttestation: true);

        var walk = await WalkAsync(index.Repository, index.Digest);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(ManifestMediaTypes.OciIndex, walk.MediaType);
        Assert.Equal(5, walk.Manifests.Count);
        Assert.All(index.Children, child => Assert.Contains(new Edge(index.Digest, child.Digest, ReferenceKind.ChildManifest), walk.Edges));
        Assert.Contains(index.Children, c => c.Platform == "unknown/unknown");
    }

    [Fact]
    public async Task A_Docker_manifest_list_of_schema2_images_is_healthy()
    {
        var list = await _pusher.PushIndexAsync(RealRegistry.NewRepository("walk"), "v1", withAttestation: false, oci: false);

        var walk = await WalkAsync(list.Repository, list.Digest);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(ManifestMediaTypes.DockerManifestList, walk.MediaType);
        Assert.All(list.Children, c => Assert.Equal(ManifestMediaTypes.DockerManifest, walk.Manifests[c.Digest]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_single_OCI_or_Docker_schema2_image_is_healthy_with_config_and_layers_as_references(bool oci)
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("walk"), "v1", layers: 3, ociMediaTypes: oci);

        var walk = await WalkAsync(image.Repository, image.Digest);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(oci ? ManifestMediaTypes.OciManifest : ManifestMediaTypes.DockerManifest, walk.MediaType);
        Assert.Contains(new Edge(image.Digest, image.ConfigDigest, ReferenceKind.Config), walk.Edges);
        Assert.All(image.LayerDigests, l => Assert.Contains(new Edge(image.Digest, l, ReferenceKind.Layer), walk.Edges));
    }

    [Fact]
    public async Task A_nested_index_is_walked_through_to_its_images()
    {
        var repository = RealRegistry.NewRepository("walk");
        var inner = await _pusher.PushIndexAsync(repository, tag: null, withAttestation: false);
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = new JsonArray(new JsonObject { ["mediaType"] = MediaTypes.OciIndex, ["digest"] = inner.Digest, ["size"] = inner.Size }),
        }.ToJsonString());
        var outer = await _pusher.PushManifestAsync(repository, "nested", MediaTypes.OciIndex, body);

        var walk = await WalkAsync(repository, outer);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(4, walk.Manifests.Count);

        await _pusher.DeleteManifestAsync(repository, inner.Children[1].Digest);
        var broken = await WalkAsync(repository, outer);
        var missing = Assert.Single(broken.Missing);
        Assert.Equal(inner.Children[1].Digest, missing.Digest);
        Assert.Equal([outer, inner.Digest], missing.Path);
    }

    [Fact]
    public async Task An_artifact_with_the_OCI_empty_config_and_a_subject_is_healthy_and_its_subject_is_not_a_child()
    {
        var repository = RealRegistry.NewRepository("walk");
        var image = await _pusher.PushImageAsync(repository, "v1");
        var empty = await _pusher.PushBlobAsync(repository, "{}"u8.ToArray(), "application/vnd.oci.empty.v1+json");
        Assert.Equal(EmptyConfigDigest, empty.Digest);
        var signature = await _pusher.PushBlobAsync(repository, Encoding.UTF8.GetBytes("{\"critical\":{}}"), "application/vnd.dev.cosign.simplesigning.v1+json");
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciManifest,
            ["artifactType"] = "application/vnd.dev.cosign.artifact.sig.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = empty.MediaType, ["digest"] = empty.Digest, ["size"] = empty.Size },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = signature.MediaType, ["digest"] = signature.Digest, ["size"] = signature.Size }),
            ["subject"] = new JsonObject { ["mediaType"] = MediaTypes.OciManifest, ["digest"] = image.Digest, ["size"] = 500 },
        }.ToJsonString());
        var artifact = await _pusher.PushManifestAsync(repository, "sha256-" + image.Digest[7..] + ".sig", MediaTypes.OciManifest, body);

        var walk = await WalkAsync(repository, artifact);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Equal(image.Digest, walk.Subjects[artifact]);
        Assert.Contains(new Edge(artifact, EmptyConfigDigest, ReferenceKind.Config), walk.Edges);
        Assert.DoesNotContain(walk.Edges, e => e.Child == image.Digest);
        Assert.Single(walk.Manifests);
    }

    [Fact]
    public async Task A_foreign_layer_with_urls_need_not_exist_in_the_registry()
    {
        var repository = RealRegistry.NewRepository("walk");
        var image = await _pusher.PushImageAsync(repository, "v1", layers: 1, ociMediaTypes: false);
        var config = await _pusher.PushBlobAsync(repository, Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"windows\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"), MediaTypes.DockerConfig);
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.DockerManifest,
            ["config"] = new JsonObject { ["mediaType"] = config.MediaType, ["digest"] = config.Digest, ["size"] = config.Size },
            ["layers"] = new JsonArray(
                new JsonObject
                {
                    ["mediaType"] = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                    ["digest"] = "sha256:" + new string('f', 64),
                    ["size"] = 1_000_000,
                    ["urls"] = new JsonArray("https://mcr.example/windows/base.tar.gz"),
                },
                new JsonObject { ["mediaType"] = MediaTypes.DockerLayer, ["digest"] = image.LayerDigests[0], ["size"] = 1024 }),
        }.ToJsonString());
        var digest = await _pusher.PushManifestAsync(repository, "windows", MediaTypes.DockerManifest, body);

        var walk = await WalkAsync(repository, digest);

        Assert.Equal(VerdictResult.Healthy, walk.Result);
        Assert.Contains(new Edge(digest, "sha256:" + new string('f', 64), ReferenceKind.Layer), walk.Edges);
    }

    [Fact]
    public async Task Deleting_one_child_by_digest_makes_the_tagged_index_broken_naming_the_child()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("walk"), "v1");
        var child = index.Children[0];

        await _pusher.DeleteManifestAsync(index.Repository, child.Digest);
        var walk = await WalkAsync(index.Repository, index.Digest);

        Assert.Equal(VerdictResult.Broken, walk.Result);
        var missing = Assert.Single(walk.Missing);
        Assert.Equal(("child-manifest", child.Digest, 404, "MANIFEST_UNKNOWN"), (missing.Kind, missing.Digest, missing.StatusCode, missing.ErrorCode));
        Assert.Equal([index.Digest], missing.Path);
    }

    [Theory]
    [InlineData("RangedGet")]
    [InlineData("Head")]
    public async Task A_blob_deleted_through_the_API_makes_the_image_broken_naming_the_layer(string blobCheck)
    {
        var image = await _pusher.PushImageAsync(RealRegistry.NewRepository("walk"), "v1", layers: 2);

        await _pusher.DeleteBlobAsync(image.Repository, image.LayerDigests[1]);
        var walk = await WalkAsync(image.Repository, image.Digest, blobCheck);

        Assert.Equal(VerdictResult.Broken, walk.Result);
        var missing = Assert.Single(walk.Missing);
        // A HEAD answer has no body, so no error code: the registry's API version header tells it is the registry's 404.
        Assert.Equal(("layer", image.LayerDigests[1], 404, blobCheck == "Head" ? null : "BLOB_UNKNOWN"), (missing.Kind, missing.Digest, missing.StatusCode, missing.ErrorCode));
        Assert.Equal([image.Digest], missing.Path);
    }

    [Fact]
    public async Task An_OCI_index_is_never_a_false_orphan_because_the_OCI_types_are_accepted()
    {
        var index = await _pusher.PushIndexAsync(RealRegistry.NewRepository("walk"), "v1");
        using var http = new HttpClient { BaseAddress = registry.Uri };
        using var dockerOnly = new HttpRequestMessage(HttpMethod.Get, $"/v2/{index.Repository}/manifests/{index.Children[0].Digest}");
        dockerOnly.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.DockerManifest));
        dockerOnly.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.DockerManifestList));

        // What a walker that forgets the OCI types would see.
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(dockerOnly)).StatusCode);
        Assert.Equal(VerdictResult.Healthy, (await WalkAsync(index.Repository, index.Digest)).Result);
    }

    [Fact]
    public async Task A_manifest_that_was_never_pushed_is_missing_itself()
    {
        var repository = RealRegistry.NewRepository("walk");
        await _pusher.PushImageAsync(repository, "v1");

        var walk = await WalkAsync(repository, "sha256:" + new string('e', 64));

        Assert.True(walk.RootMissing);
        Assert.Equal(("manifest", "MANIFEST_UNKNOWN"), (walk.Missing[0].Kind, walk.Missing[0].ErrorCode));
    }
}
