using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Consumers;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Sweeps;

/// <summary>A sweep request sent straight to the queue (the storage watcher's) runs only when no sweep is running.</summary>
public sealed class Joining_a_running_sweep
{
    private sealed class CountingSource : ISweepSource
    {
        public int Listings;

        public Task<(IReadOnlyList<string> Repositories, string? Error)> ListRepositoriesAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Listings);
            return Task.FromResult<(IReadOnlyList<string>, string?)>(([], null));
        }

        public Task<(List<string> Tags, string? Problem, bool NoTagsDirectory)> ListTagsAsync(string repository, CancellationToken cancellationToken) =>
            Task.FromResult<(List<string>, string?, bool)>(([], null, false));

        public Task<(string? Digest, ProbeResult Probe)> ResolveTagAsync(string repository, string tag, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public IProbeSource CreateProbes(string repository) => throw new NotSupportedException();
    }

    private static async Task<(ServiceProvider Services, ISweepStore Store, CountingSource Source)> CreateAsync(RegistryAvailability? registry = null)
    {
        var connections = await SqliteStores.CreateDatabaseAsync();
        var source = new CountingSource();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:RabbitMq"] = "amqp://127.0.0.1:1/" }).Build())
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddSingleton(connections)
            .AddSingleton<ISweepStore, DapperSweepStore>()
            .AddSweeps()
            .AddSingleton<ISweepSource>(source)
            .AddSingleton(registry ?? new RegistryAvailability(TimeProvider.System))
            .AddMassTransitTestHarness(bus => bus.AddConsumer<StartSweepConsumer>())
            .BuildServiceProvider(true);
        await services.GetTestHarness().Start();
        return (services, services.GetRequiredService<ISweepStore>(), source);
    }

    private static async Task ConsumeAsync(ServiceProvider services, StartSweep request)
    {
        var harness = services.GetTestHarness();
        await harness.Bus.Publish(request);
        Assert.True(await harness.GetConsumerHarness<StartSweepConsumer>().Consumed.Any<StartSweep>(m => m.Context.Message.SweepId == request.SweepId));
    }

    [Fact]
    public async Task A_watcher_request_while_a_sweep_runs_joins_it_and_lists_nothing()
    {
        var (services, store, source) = await CreateAsync();
        await using var _ = services;
        var running = Guid.CreateVersion7();
        await store.StartSweepAsync(running, "api", DateTimeOffset.UtcNow, default);
        var request = new StartSweep { SweepId = Guid.CreateVersion7(), Trigger = "storage-watcher", RequestedAt = DateTimeOffset.UtcNow };

        await ConsumeAsync(services, request);

        Assert.Null(await store.GetSweepAsync(request.SweepId, default));
        Assert.Equal(0, source.Listings);
    }

    [Fact]
    public async Task A_watcher_request_with_no_sweep_running_starts_one()
    {
        var (services, store, source) = await CreateAsync();
        await using var _ = services;
        var request = new StartSweep { SweepId = Guid.CreateVersion7(), Trigger = "storage-watcher", RequestedAt = DateTimeOffset.UtcNow };

        await ConsumeAsync(services, request);

        Assert.NotNull(await store.GetSweepAsync(request.SweepId, default));
        Assert.Equal(1, source.Listings);
    }

    /// <summary>The registry seen down (refused, 502/503/504) at <paramref name="at"/>.</summary>
    private static RegistryAvailability SeenDownAt(DateTimeOffset at)
    {
        var availability = new RegistryAvailability(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(at));
        availability.RecordUnavailable();
        return availability;
    }

    [Fact]
    public async Task A_request_after_a_registry_outage_starts_its_own_sweep_beside_one_that_began_before_it()
    {
        var now = DateTimeOffset.UtcNow;
        var (services, store, source) = await CreateAsync(SeenDownAt(now.AddSeconds(-5)));
        await using var _ = services;
        var beforeTheOutage = Guid.CreateVersion7();
        await store.StartSweepAsync(beforeTheOutage, "schedule", now.AddSeconds(-10), default);
        var request = new StartSweep { SweepId = Guid.CreateVersion7(), Trigger = "storage-watcher", RequestedAt = now };

        await ConsumeAsync(services, request);

        Assert.NotNull(await store.GetSweepAsync(request.SweepId, default));
        Assert.Equal(1, source.Listings);
    }

    [Fact]
    public async Task A_request_joins_a_sweep_that_began_after_the_last_registry_outage()
    {
        var now = DateTimeOffset.UtcNow;
        var (services, store, source) = await CreateAsync(SeenDownAt(now.AddSeconds(-10)));
        await using var _ = services;
        await store.StartSweepAsync(Guid.CreateVersion7(), "api", now.AddSeconds(-5), default);
        var request = new StartSweep { SweepId = Guid.CreateVersion7(), Trigger = "storage-watcher", RequestedAt = now };

        await ConsumeAsync(services, request);

        Assert.Null(await store.GetSweepAsync(request.SweepId, default));
        Assert.Equal(0, source.Listings);
    }
}
