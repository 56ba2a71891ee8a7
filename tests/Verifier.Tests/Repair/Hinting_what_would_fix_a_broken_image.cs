using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Cli;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Repair;

/// <summary>Without a source: <c>check</c> and <c>/v1/broken</c> say which objects to push again and from which build.</summary>
[Collection(RealRegistryCollection.Name)]
public sealed class Hinting_what_would_fix_a_broken_image(RealRegistry registry) : IDisposable
{
    private const string SourceUrl = "https://git.example.com/team/app";
    private const string Revision = "0123abcd";
    private readonly RegistryPusher _pusher = new(registry.Uri);

    public void Dispose() => _pusher.Dispose();

    /// <summary>An OCI index of two images, annotated with the build it came from; returns (repository, index, the arm64 child).</summary>
    /// <param name="breakChild">Deletes the arm64 child (returned as Child), or else its first layer (returned as Child).</param>
    private async Task<(string Repository, string Index, string Child)> PushAnnotatedIndexAsync(bool breakChild = true)
    {
        var repository = RealRegistry.NewRepository("hint");
        var amd64 = await _pusher.PushImageAsync(repository, platform: "linux/amd64");
        var arm64 = await _pusher.PushImageAsync(repository, platform: "linux/arm64/v8");
        JsonObject Entry(PushedImage image, string architecture, string? variant)
        {
            var body = Task.Run(() => _pusher.GetManifestBytesAsync(repository, image.Digest, image.MediaType)).Result;
            var platform = new JsonObject { ["os"] = "linux", ["architecture"] = architecture };
            if (variant is not null)
                platform["variant"] = variant;
            return new JsonObject { ["mediaType"] = image.MediaType, ["digest"] = image.Digest, ["size"] = body.Length, ["platform"] = platform };
        }
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = new JsonArray(Entry(amd64, "amd64", null), Entry(arm64, "arm64", "v8")),
            ["annotations"] = new JsonObject { ["org.opencontainers.image.source"] = SourceUrl, ["org.opencontainers.image.revision"] = Revision },
        }.ToJsonString());
        var digest = await _pusher.PushManifestAsync(repository, "v1", MediaTypes.OciIndex, index);
        if (!breakChild)
        {
            await _pusher.DeleteBlobAsync(repository, arm64.LayerDigests[0]);
            return (repository, digest, arm64.LayerDigests[0]);
        }
        await _pusher.DeleteManifestAsync(repository, arm64.Digest);
        return (repository, digest, arm64.Digest);
    }

    [Fact]
    public async Task Check_names_the_child_to_push_again_with_its_platform_and_the_build_it_came_from()
    {
        var (repository, index, child) = await PushAnnotatedIndexAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await VerifierCommandLine.InvokeAsync(
            ["check", $"{registry.Uri.Authority}/{repository}:v1", "--plain-http", "--json"], new InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(1, exitCode);
        using var json = JsonDocument.Parse(output.ToString());
        var hint = json.RootElement.GetProperty("repairHint");
        var rePush = Assert.Single(hint.GetProperty("rePush").EnumerateArray());
        Assert.Equal((child, "linux/arm64/v8", index), (rePush.GetProperty("digest").GetString(), rePush.GetProperty("platform").GetString(), rePush.GetProperty("parent").GetString()));
        Assert.Equal((SourceUrl, Revision), (hint.GetProperty("build").GetProperty("source").GetString(), hint.GetProperty("build").GetProperty("revision").GetString()));
        Assert.Contains($"from the build of {SourceUrl} at revision {Revision}", hint.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.False(hint.GetProperty("sourcesConfigured").GetBoolean());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Each_entry_of_the_broken_list_keeps_its_fields_and_gains_a_repair_hint_the_runbook_and_the_childs_platform(bool childMissing)
    {
        var (repository, index, child) = await PushAnnotatedIndexAsync(childMissing);
        var runbook = new Uri("https://wiki.example.com/runbooks/registry#broken");
        var database = Path.Combine(Path.GetTempPath(), $"hint-{Guid.NewGuid():N}.db");
        try
        {
            var settings = VerifierServices.Configuration(registry.Uri);
            settings["Store:ConnectionString"] = $"Data Source={database}";
            settings["Repair:Sources:0:BaseUrl"] = "http://127.0.0.1:1/";
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            using var services = VerifierServices.Create(settings, configure: s => { s.AddDapperRepositories(); s.AddRepair(configuration); });
            var store = services.GetRequiredService<IVerdictStore>();
            await store.MigrateAsync(default);
            await services.GetRequiredService<VerificationService>().VerifyAsync(repository, index, "v1", null, default);
            var broken = await store.ListBrokenAsync(default);

            var annotated = await services.GetRequiredService<RepairHints>().AnnotateAsync(broken, JsonSerializerOptions.Web, default, runbook);

            var entry = Assert.Single(annotated)!.AsObject();
            Assert.Equal(index, (string?)entry["digest"]);
            Assert.Equal(child, (string?)entry["missing"]![0]!["digest"]);
            // A missing child, or a layer under it: the platform the index gives that child.
            Assert.Equal("linux/arm64/v8", (string?)entry["missing"]![0]!["platform"]);
            Assert.Equal(runbook.AbsoluteUri, (string?)entry["runbook"]);
            Assert.Equal("v1", (string?)entry["tags"]![0]);
            var hint = entry["repairHint"]!;
            Assert.Equal(child, (string?)hint["rePush"]![0]!["digest"]);
            Assert.Equal(Revision, (string?)hint["build"]!["revision"]);
            Assert.True((bool)hint["sourcesConfigured"]!);
            Assert.Contains("run `repair`", (string?)hint["summary"], StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(database);
        }
    }
}
