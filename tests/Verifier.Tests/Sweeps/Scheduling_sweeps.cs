using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;
using RegistryIntegrity.Verifier.Store.Dapper;
using RegistryIntegrity.Verifier.Sweeps;
using RegistryIntegrity.Verifier.Tests.Store;
using RegistryIntegrity.Verifier.Verification;

namespace RegistryIntegrity.Verifier.Tests.Sweeps;

public sealed class Scheduling_sweeps
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_inventory_is_counted_at_the_first_tick_and_then_at_most_once_per_minimum_cycle()
    {
        var connections = await SqliteStores.CreateDatabaseAsync();
        var store = new DapperSweepStore(connections);
        // One manifest with 3 600 layers at 1 request/s: a derived cycle of an hour, so no sweep comes due in 20 minutes.
        var layers = Enumerable.Range(0, 3600).Select(n => new Edge("sha256:" + new string('a', 64), "sha256:" + n.ToString("x64", System.Globalization.CultureInfo.InvariantCulture), ReferenceKind.Layer)).ToArray();
        await new DapperVerdictStore(connections, TimeProvider.System).SaveWalkAsync(new WalkResult(
            "team/app", layers[0].Parent, ManifestMediaTypes.OciManifest, VerdictResult.Healthy, [], [], layers,
            new Dictionary<string, string?>(), new Dictionary<string, string>()), T0, null, null, default);
        var started = Guid.NewGuid();
        await store.StartSweepAsync(started, "schedule", T0, default);
        var counting = CountingSweepStore.Wrap(store);
        var services = new ServiceCollection().AddSingleton(counting.Store).BuildServiceProvider();
        var time = new FakeTimeProvider(T0);
        var options = Options.Create(new SweepOptions { RequestsPerSecondBudget = 1, MinimumCycle = TimeSpan.FromMinutes(5) });
        using var metrics = new VerifierMetricsRegistry();
        var scheduler = new SweepScheduler(services.GetRequiredService<IServiceScopeFactory>(), options, new SweepMetrics(metrics), time, NullLogger<SweepScheduler>.Instance);

        for (var tick = 0; tick <= 40; tick++)
        {
            await scheduler.TickAsync(default);
            time.Advance(TimeSpan.FromSeconds(30));
        }

        // Ticks at 0:00, then 5:00, 10:00, 15:00 and 20:00: not at each of the 41 ticks.
        Assert.Equal(5, counting.Calls(nameof(ISweepStore.CountInventoryAsync)));
        Assert.Equal(started, (await store.GetLatestSweepAsync(completedOnly: false, default))!.Id);
    }

    /// <summary>The real store, counting the calls of each method.</summary>
    public class CountingSweepStore : DispatchProxy
    {
        private readonly Dictionary<string, int> _calls = [];
        private ISweepStore _target = null!;

        public ISweepStore Store => (ISweepStore)(object)this;

        public static CountingSweepStore Wrap(ISweepStore target)
        {
            var proxy = Create<ISweepStore, CountingSweepStore>();
            var counting = (CountingSweepStore)(object)proxy;
            counting._target = target;
            return counting;
        }

        public int Calls(string method) => _calls.GetValueOrDefault(method);

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            lock (_calls)
                _calls[targetMethod!.Name] = Calls(targetMethod.Name) + 1;
            return targetMethod.Invoke(_target, args);
        }
    }
}
