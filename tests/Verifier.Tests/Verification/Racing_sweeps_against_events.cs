using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Verification;

/// <summary>
/// A sweep shares one set of registry answers between the walks of a repository, and events arrive while
/// it runs. Here the interleavings are played step by step against a registry in memory and a controlled
/// clock: whatever the order, the newest registry state is what the store ends up with.
/// </summary>
public sealed class Racing_sweeps_against_events : IAsyncLifetime
{
    private const string Repo = "team/app";
    private readonly FakeRegistry _registry = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));
    private ServiceProvider _services = null!;
    private IVerdictStore _store = null!;
    private string _childA = "", _childB = "", _index = "", _otherIndex = "";

    private ManifestWalker Walker => _services.GetRequiredService<ManifestWalker>();
    private VerificationService Verification => _services.GetRequiredService<VerificationService>();

    public async Task InitializeAsync()
    {
        (_store, var events) = await SqliteStores.CreateAsync();
        _services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl), _registry, _time, configure: s => s.AddSingleton(_store).AddSingleton(events));
        _childA = _registry.AddManifest(_registry.ImageManifest());
        _childB = _registry.AddManifest(_registry.ImageManifest());
        _index = _registry.AddManifest(_registry.Index(_childA, _childB));
        _otherIndex = _registry.AddManifest(_registry.Index(_childB));
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    private Task SweepWalkAsync(RegistryProbeCache sweepAnswers, string digest) =>
        VerificationService.WalkAndSaveAsync(Walker, sweepAnswers, _store, _time, NullLogger.Instance, digest, null, default);

    /// <summary>What <c>DigestDeletedConsumer</c> does with the registry's delete event.</summary>
    private async Task DeleteEventAsync(string digest)
    {
        await _store.MarkDeletedAsync(Repo, digest, _time.GetUtcNow(), null, default);
        await Verification.VerifyReferrersAsync(Repo, digest, null, default);
    }

    /// <summary>What <c>ManifestPushedConsumer</c> does with the registry's push event.</summary>
    private async Task PushEventAsync(string digest)
    {
        await _store.RecordPushAsync(Repo, digest, _time.GetUtcNow(), default);
        await Verification.VerifyAsync(Repo, digest, null, null, default);
        await Verification.VerifyUnhealthyReferrersAsync(Repo, digest, default);
    }

    private async Task<string?> ResultAsync(string digest) => (await _store.GetManifestAsync(Repo, digest, default))?.Result;

    [Fact]
    public async Task A_sweep_answer_from_before_a_delete_never_overwrites_the_deletes_broken_verdict()
    {
        await PushEventAsync(_index);
        var sweepAnswers = Walker.CreateCache(Repo);
        await SweepWalkAsync(sweepAnswers, _index); // the sweep now holds "child B present"

        _time.Advance(TimeSpan.FromSeconds(1));
        _registry.RemoveManifest(_childB);
        await DeleteEventAsync(_childB);
        Assert.Equal("broken", await ResultAsync(_index));

        _time.Advance(TimeSpan.FromSeconds(1));
        await SweepWalkAsync(sweepAnswers, _otherIndex); // a manifest the delete event could not know about yet
        await SweepWalkAsync(sweepAnswers, _index);

        Assert.Equal("broken", await ResultAsync(_index));
        Assert.Equal("broken", await ResultAsync(_otherIndex));
        Assert.NotNull((await _store.GetManifestAsync(Repo, _childB, default))!.DeletedAt);
    }

    [Fact]
    public async Task A_sweep_404_from_before_a_re_push_never_keeps_the_repaired_index_broken()
    {
        var removed = _registry.RemoveManifest(_childB);
        await PushEventAsync(_index);
        Assert.Equal("broken", await ResultAsync(_index));
        var sweepAnswers = Walker.CreateCache(Repo);
        await SweepWalkAsync(sweepAnswers, _index); // the sweep now holds "child B: 404"

        _time.Advance(TimeSpan.FromSeconds(1));
        _registry.AddManifest(removed.MediaType, removed.Body);
        await PushEventAsync(_childB);
        Assert.Equal("healthy", await ResultAsync(_index)); // the re-pushed child heals its index at once

        _time.Advance(TimeSpan.FromSeconds(1));
        await SweepWalkAsync(sweepAnswers, _otherIndex);
        await SweepWalkAsync(sweepAnswers, _index);

        Assert.Equal("healthy", await ResultAsync(_index));
        Assert.Equal("healthy", await ResultAsync(_otherIndex));
    }

    [Fact]
    public async Task A_sweep_walk_of_a_deleted_manifest_with_answers_from_before_the_delete_does_not_bring_it_back()
    {
        await PushEventAsync(_otherIndex);
        var sweepAnswers = Walker.CreateCache(Repo);
        await sweepAnswers.GetManifestAsync(_otherIndex, default); // the sweep asked before the delete...

        _time.Advance(TimeSpan.FromSeconds(1));
        _registry.RemoveManifest(_otherIndex);
        await DeleteEventAsync(_otherIndex);

        _time.Advance(TimeSpan.FromSeconds(1));
        await SweepWalkAsync(sweepAnswers, _otherIndex); // ...and stores after it

        Assert.NotNull((await _store.GetManifestAsync(Repo, _otherIndex, default))!.DeletedAt);
        Assert.Equal(0, (await _store.CountVerdictsAsync(default)).Healthy);
    }

    /// <summary>
    /// The registry is stopped, garbage-collected offline (no event) and started while a sweep runs: its next
    /// request is refused, and by the retry child B and its blobs are gone.
    /// </summary>
    private void StopForAnOfflineGcOnTheNextRequest()
    {
        _registry.Intercept = _ =>
        {
            _registry.Intercept = null;
            var (_, body) = _registry.RemoveManifest(_childB);
            var manifest = System.Text.Json.Nodes.JsonNode.Parse(body)!;
            foreach (var blob in manifest["layers"]!.AsArray().Append(manifest["config"]))
                _registry.RemoveBlob(blob!["digest"]!.GetValue<string>());
            throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");
        };
    }

    private async Task<IReadOnlyList<(string Kind, string Digest)>> MissingAsync(string digest) =>
        [.. (await _store.GetManifestAsync(Repo, digest, default))!.Missing.Select(m => (m.Kind, m.Digest))];

    [Fact]
    public async Task A_sweep_answer_from_before_a_registry_outage_is_not_mixed_with_answers_from_after_it()
    {
        await PushEventAsync(_index);
        var sweepAnswers = Walker.CreateCache(Repo);
        await sweepAnswers.GetManifestAsync(_index, default);
        await sweepAnswers.GetManifestAsync(_childB, default); // the sweep holds "child B present", and nothing about its layers yet

        _time.Advance(TimeSpan.FromSeconds(1));
        StopForAnOfflineGcOnTheNextRequest();
        await SweepWalkAsync(sweepAnswers, _index); // child A is asked for first, refused, and retried after the GC

        // Not "child B's layers are missing" (child B answered present before the GC): child B itself is.
        Assert.Equal("broken", await ResultAsync(_index));
        Assert.Equal([("child-manifest", _childB)], await MissingAsync(_index));
    }

    [Fact]
    public async Task A_sweep_that_saw_everything_present_before_a_registry_outage_does_not_call_it_healthy_after_it()
    {
        await PushEventAsync(_index);
        var sweepAnswers = Walker.CreateCache(Repo);
        await SweepWalkAsync(sweepAnswers, _index); // the sweep holds every object of the index, all present

        _time.Advance(TimeSpan.FromSeconds(1));
        StopForAnOfflineGcOnTheNextRequest();
        await SweepWalkAsync(sweepAnswers, _otherIndex); // its own manifest asked after the GC, child B answered from before it
        await SweepWalkAsync(sweepAnswers, _index);

        Assert.Equal([("child-manifest", _childB)], await MissingAsync(_otherIndex));
        Assert.Equal([("child-manifest", _childB)], await MissingAsync(_index));
        Assert.Equal(("broken", "broken"), (await ResultAsync(_index), await ResultAsync(_otherIndex)));
    }

    [Fact]
    public async Task After_a_registry_outage_the_sweeps_walks_share_fresh_answers_again()
    {
        await PushEventAsync(_index);
        var sweepAnswers = new ProbesRenewedAfterOutages(Walker.CreateCache(Repo), _time);
        await VerificationService.WalkAndSaveAsync(Walker, sweepAnswers, _store, _time, NullLogger.Instance, _index, null, default);

        _time.Advance(TimeSpan.FromSeconds(1));
        var refusedOnce = 0;
        _registry.Intercept = _ => Interlocked.Increment(ref refusedOnce) == 1 ? throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused") : null;
        // The ping's one attempt is refused (a status ping is never retried): the outage is recorded all the same.
        Assert.Equal(RegistryIntegrity.Verifier.Registry.ProbeOutcome.Indeterminate, (await _services.GetRequiredService<RegistryIntegrity.Verifier.Registry.RegistryClient>().PingAsync(default)).Outcome);
        _time.Advance(TimeSpan.FromSeconds(1));
        var childBAskedBefore = _registry.CountRequests($"/manifests/{_childB}");

        await VerificationService.WalkAndSaveAsync(Walker, sweepAnswers, _store, _time, NullLogger.Instance, _index, null, default);
        await VerificationService.WalkAndSaveAsync(Walker, sweepAnswers, _store, _time, NullLogger.Instance, _otherIndex, null, default);

        // Both walks after the outage rest on new answers, and share them: child B is asked for once more, not once per walk.
        Assert.Equal(1, _registry.CountRequests($"/manifests/{_childB}") - childBAskedBefore);
        Assert.Equal(("healthy", "healthy"), (await ResultAsync(_index), await ResultAsync(_otherIndex)));
    }
}
