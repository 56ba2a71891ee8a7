using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Listener.Monitoring;

namespace RegistryIntegrity.Listener.Tests;

public sealed class Tracking_registry_instances : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ListenerMetrics _metrics = new();

    [Fact]
    public void The_first_instance_a_listener_sees_is_not_a_restart()
    {
        // After a Listener restart the first id is the registry instance that was running all along.
        var tracker = new SourceInstanceTracker(_metrics, _time);

        tracker.Observe("instance-a");

        Assert.Equal(0, _metrics.SourceInstanceChanges.Value);
        Assert.Equal(0, _metrics.LastSourceInstanceChange.Value);
    }

    [Fact]
    public void A_restart_counts_once_and_sets_the_time_while_repeats_change_nothing()
    {
        var tracker = new SourceInstanceTracker(_metrics, _time);
        tracker.Observe("instance-a");
        tracker.Observe(null);
        tracker.Observe("instance-a");

        _time.Advance(TimeSpan.FromMinutes(5));
        tracker.Observe("instance-b");
        tracker.Observe("instance-b");

        Assert.Equal(1, _metrics.SourceInstanceChanges.Value);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), _metrics.LastSourceInstanceChange.Value);
    }

    [Fact]
    public void Replicas_taking_turns_are_each_counted_once_but_the_first()
    {
        var tracker = new SourceInstanceTracker(_metrics, _time);
        for (var round = 0; round < 10; round++)
        {
            for (var replica = 0; replica < SourceInstanceTracker.Remembered; replica++)
                tracker.Observe($"replica-{replica}");
        }
        Assert.Equal(SourceInstanceTracker.Remembered - 1, _metrics.SourceInstanceChanges.Value);
    }

    [Fact]
    public void Only_the_last_few_ids_are_remembered_so_memory_stays_bounded()
    {
        var tracker = new SourceInstanceTracker(_metrics, _time);
        tracker.Observe("instance-0");
        for (var i = 1; i <= SourceInstanceTracker.Remembered; i++)
            tracker.Observe($"instance-{i}");

        // instance-0 was pushed out by the 16 ids after it, so it counts as new again.
        tracker.Observe("instance-0");

        Assert.Equal(SourceInstanceTracker.Remembered + 1, _metrics.SourceInstanceChanges.Value);
    }

    public void Dispose() => _metrics.Dispose();
}
