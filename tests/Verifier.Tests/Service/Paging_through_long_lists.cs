using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Verifier.Api;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Repair;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;
using RegistryIntegrity.Verifier.RegistryStorageWatchers;

namespace RegistryIntegrity.Verifier.Tests.Service;

/// <summary>The list endpoints page like the registry's catalog (limit, and a Link header to the next page), over a store of its own.</summary>
public sealed class Paging_through_long_lists : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"verifier-paging-{Guid.NewGuid():N}.db");
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    // Only the API over the real store and registry client.
    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration["Registry:BaseUrl"] = "http://127.0.0.1:1/";
        builder.Configuration["Store:Provider"] = "Sqlite";
        builder.Configuration["Store:ConnectionString"] = $"Data Source={_database}";
        builder.Services.AddVerification();
        builder.Services.AddDapperRepositories();
        builder.Services.AddRepair(builder.Configuration);
        builder.Services.AddRegistryStorageWatchers();
        builder.Services.AddOptions<ApiOptions>();
        builder.Services.AddSingleton<ApiTokens>();
        _app = builder.Build();
        _app.MapStatusApi();
        _app.MapSweepApi();
        await _app.StartAsync();
        _http = _app.GetTestClient();
        var store = _app.Services.GetRequiredService<IVerdictStore>();
        var sweeps = _app.Services.GetRequiredService<ISweepStore>();
        await store.MigrateAsync(default);
        foreach (var (repository, n) in new[] { ("b/app", 3), ("a/app", 2), ("a/app", 1), ("b/app", 4) })
            await store.SaveWalkAsync(Broken(repository, Digest(n)), T0, $"t{n}", null, default);
        for (var n = 5; n <= 7; n++)
            await store.SaveWalkAsync(Healthy("a/app", Digest(n)), T0, $"v{n}", null, default);
        await sweeps.ReconcileTagsAsync("c/app", new Dictionary<string, string>(), ["gone1", "gone2"], T0, default);
        foreach (var (id, minutes) in Sweeps)
            await sweeps.StartSweepAsync(id, "schedule", T0.AddMinutes(minutes), default);
    }

    private static readonly (Guid Id, int Minutes)[] Sweeps = [(Guid.NewGuid(), 0), (Guid.NewGuid(), 10), (Guid.NewGuid(), 5)];

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
        File.Delete(_database);
    }

    private static string Digest(int n) => "sha256:" + n.ToString("x64", System.Globalization.CultureInfo.InvariantCulture);

    private static WalkResult Broken(string repository, string digest) => new(
        repository, digest, ManifestMediaTypes.OciManifest, VerdictResult.Broken,
        [new MissingObject("layer", Digest(9999), [digest], 404, "BLOB_UNKNOWN")], [], [],
        new Dictionary<string, string?> { [digest] = ManifestMediaTypes.OciManifest }, new Dictionary<string, string>());

    private static WalkResult Healthy(string repository, string digest) => new(
        repository, digest, ManifestMediaTypes.OciManifest, VerdictResult.Healthy, [], [], [],
        new Dictionary<string, string?> { [digest] = ManifestMediaTypes.OciManifest }, new Dictionary<string, string>());

    /// <summary>Every page from <paramref name="first"/> on, following Link headers: (items, page sizes).</summary>
    private async Task<(List<string> Items, List<int> PageSizes)> FollowAsync(string first, Func<JsonElement, string> describe)
    {
        var items = new List<string>();
        var sizes = new List<int>();
        for (string? page = first; page is not null;)
        {
            using var response = await _http.GetAsync(page);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            sizes.Add(body.GetArrayLength());
            items.AddRange(body.EnumerateArray().Select(describe));
            page = Paging.NextPage(response);
            Assert.True(sizes.Count < 20, "the Link headers never end");
        }
        return (items, sizes);
    }

    private static string BrokenItem(JsonElement item) =>
        $"{item.GetProperty("repository").GetString()}:{string.Join(",", item.GetProperty("tags").EnumerateArray().Select(t => t.GetString()))}";

    [Theory]
    [InlineData(1, new[] { 1, 1, 1, 1, 1, 1 })]
    [InlineData(2, new[] { 2, 2, 2 })]
    [InlineData(4, new[] { 4, 2 })]
    [InlineData(5, new[] { 5, 1 })]
    [InlineData(6, new[] { 6 })]
    public async Task Broken_manifests_then_dangling_tags_come_once_each_in_order_whatever_the_page_size(int limit, int[] pageSizes)
    {
        var (items, sizes) = await FollowAsync($"/v1/broken?limit={limit}", BrokenItem);

        Assert.Equal(["a/app:t1", "a/app:t2", "b/app:t3", "b/app:t4", "c/app:gone1", "c/app:gone2"], items);
        Assert.Equal(pageSizes, sizes);
    }

    [Fact]
    public async Task Without_a_limit_a_short_list_is_one_page()
    {
        var (items, sizes) = await FollowAsync("/v1/broken", BrokenItem);

        Assert.Equal(6, items.Count);
        Assert.Equal([6], sizes);
    }

    [Fact]
    public async Task Without_a_limit_one_page_holds_a_thousand()
    {
        var store = _app.Services.GetRequiredService<IVerdictStore>();
        var many = Enumerable.Range(10_000, Paging.DefaultLimit + 1).Select(Digest).ToList();
        await Task.WhenAll(many.Select(digest => store.SaveWalkAsync(Healthy("z/many", digest), T0, tag: null, null, default)));

        var (items, sizes) = await FollowAsync("/v1/manifests?repository=z/many", item => item.GetProperty("digest").GetString()!);

        Assert.Equal([1000, 1], sizes);
        Assert.Equal(many.Order(StringComparer.Ordinal), items);
    }

    [Fact]
    public async Task A_repositorys_manifests_are_listed_in_pages_and_a_tag_finds_its_manifest()
    {
        var (items, sizes) = await FollowAsync("/v1/manifests?repository=a/app&limit=2", item => item.GetProperty("digest").GetString()!);
        Assert.Equal([Digest(1), Digest(2), Digest(5), Digest(6), Digest(7)], items);
        Assert.Equal([2, 2, 1], sizes);

        var byTag = await _http.GetFromJsonAsync<JsonElement>("/v1/manifests?repository=a/app&tag=v6");
        Assert.Equal(Digest(6), byTag.GetProperty("manifest").GetProperty("digest").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/v1/manifests?repository=a/app&tag=never")).StatusCode);
    }

    [Theory]
    [InlineData("/v1/broken?limit=0")]
    [InlineData("/v1/broken?limit=10001")]
    [InlineData("/v1/broken?limit=-1")]
    [InlineData("/v1/broken?limit=ten")]
    [InlineData("/v1/broken?cursor=not-a-cursor")]
    [InlineData("/v1/broken?cursor=%00%00")]
    [InlineData("/v1/manifests?repository=a/app&cursor=bQphL2FwcApzaGEyNTY6MQ")]
    [InlineData("/v1/manifests?repository=a/app&limit=99999999999999999999")]
    [InlineData("/v1/manifests?repository=a/app&tag=v6&digest=sha256:0000000000000000000000000000000000000000000000000000000000000006")]
    [InlineData("/v1/manifests?repository=a/app&tag=-bad")]
    public async Task A_malformed_limit_cursor_or_query_is_a_400_problem_naming_what_is_expected(string path)
    {
        using var response = await _http.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        Assert.Matches("limit|cursor|repository", detail);
    }

    [Fact]
    public async Task A_cursor_from_another_repositorys_list_is_refused()
    {
        using var first = await _http.GetAsync("/v1/manifests?repository=a/app&limit=1");
        var next = Paging.NextPage(first)!;

        using var response = await _http.GetAsync(next.Replace("repository=a%2Fapp", "repository=b%2Fapp", StringComparison.Ordinal));

        Assert.Contains("repository=a%2Fapp", next, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Recent_sweeps_are_listed_newest_first_in_the_shape_of_one_sweep()
    {
        var listed = await _http.GetFromJsonAsync<JsonElement>("/v1/sweeps?limit=2");
        var one = await _http.GetFromJsonAsync<JsonElement>($"/v1/sweeps/{Sweeps[1].Id}");

        Assert.Equal([Sweeps[1].Id, Sweeps[2].Id], listed.EnumerateArray().Select(s => s.GetProperty("id").GetGuid()));
        Assert.Equal(one.ToString(), listed[0].ToString());
        Assert.Equal(3, (await _http.GetFromJsonAsync<JsonElement>("/v1/sweeps")).GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync("/v1/sweeps?limit=1001")).StatusCode);
    }
}
