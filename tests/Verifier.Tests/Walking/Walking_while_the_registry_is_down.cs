using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.TestSupport;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Tests.Support;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Walking;

/// <summary>The real registry 2.8.2, stopped after the push: nothing can be told, so nothing is called broken.</summary>
public sealed class Walking_while_the_registry_is_down : IAsyncLifetime
{
    private LocalStack _stack = null!;

    public async Task InitializeAsync() => _stack = await LocalStack.StartAsync(StackServices.Registry);

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task A_stopped_registry_gives_indeterminate_with_the_reason_never_broken_and_keeps_the_proven_verdict_marked_stale()
    {
        using var pusher = new RegistryPusher(_stack.RegistryUri);
        var index = await pusher.PushIndexAsync("down/app", "v1");
        var (store, events) = await SqliteStores.CreateAsync();
        using var services = VerifierServices.Create(VerifierServices.Configuration(_stack.RegistryUri), configure: s => s.AddSingleton(store).AddSingleton(events));
        var verification = services.GetRequiredService<VerificationService>();
        Assert.Equal(VerdictResult.Healthy, (await verification.VerifyAsync(index.Repository, index.Digest, "v1", null, default)).Result);

        await _stack.StopAsync(StackServices.Registry);
        var walk = await verification.VerifyAsync(index.Repository, index.Digest, null, null, default);
        var ping = await services.GetRequiredService<RegistryClient>().PingAsync(default);

        Assert.Equal(VerdictResult.Indeterminate, walk.Result);
        Assert.Empty(walk.Missing);
        // Said as it happened: nothing listens on the port.
        Assert.Contains(walk.IndeterminateReasons, r => r.Contains("registry unreachable (connection refused)", StringComparison.Ordinal));
        Assert.Equal("registry unreachable (connection refused)", ping.Reason);
        // What the last walk that reached the registry proved stays; the failed attempt is kept beside it.
        var stored = (await store.GetManifestAsync(index.Repository, index.Digest, default))!;
        Assert.Equal("healthy", stored.Result);
        Assert.Equal("indeterminate", stored.LastAttempt!.Result);
        Assert.Contains(stored.LastAttempt.Reasons, r => r.Contains("registry unreachable", StringComparison.Ordinal));
        Assert.NotNull(stored.StaleSince);
        var counts = await store.CountVerdictsAsync(default);
        Assert.Equal((0, 1, 1, 0, 1), (counts.Broken, counts.Indeterminate, counts.Healthy, counts.MissingObjects, counts.Stale));
        Assert.Equal(ProbeOutcome.Indeterminate, ping.Outcome);

        await _stack.StartAsync(StackServices.Registry);
        Assert.Equal(VerdictResult.Healthy, (await verification.VerifyAsync(index.Repository, index.Digest, null, null, default)).Result);
        stored = (await store.GetManifestAsync(index.Repository, index.Digest, default))!;
        Assert.Null(stored.StaleSince);
        Assert.Equal("healthy", stored.LastAttempt!.Result);
        Assert.Equal(0, (await store.CountVerdictsAsync(default)).Stale);
    }

    [Fact]
    public async Task The_status_ping_says_connection_refused_from_one_attempt_with_the_shipped_retry_back_off()
    {
        await _stack.StopAsync(StackServices.Registry);
        using var services = VerifierServices.Create(VerifierServices.Configuration(_stack.RegistryUri), shippedRetryBackOff: true);
        // The status page's own wait: retried with the shipped back-off (2 s and more), the refusal would be lost to it.
        using var statusPageWait = new CancellationTokenSource(TimeSpan.FromSeconds(3));

        var ping = await services.GetRequiredService<RegistryClient>().PingAsync(statusPageWait.Token);

        Assert.Equal(ProbeOutcome.Indeterminate, ping.Outcome);
        Assert.Equal("registry unreachable (connection refused)", ping.Reason);
    }
}
