using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Registry;

/// <summary>
/// The registry client remembers when it last found the registry down (refused, or 502/503/504 on any attempt,
/// retried or not): walks whose answers straddle that moment are walked again. Answers that say nothing about
/// a restart do not count.
/// </summary>
public sealed class Noticing_registry_outages : IDisposable
{
    private readonly FakeRegistry _registry = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services;
    private readonly string _manifest;

    public Noticing_registry_outages()
    {
        _services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl), _registry, _time);
        _manifest = _registry.AddManifest(_registry.ImageManifest());
    }

    public void Dispose() => _services.Dispose();

    private RegistryAvailability Availability => _services.GetRequiredService<RegistryAvailability>();

    /// <summary>The first attempt gets <paramref name="firstAnswer"/>, the retries the registry's own answer.</summary>
    private async Task<ProbeOutcome> AskOnceFailingWithAsync(Func<HttpResponseMessage> firstAnswer)
    {
        var answered = 0;
        _registry.Intercept = _ => Interlocked.Increment(ref answered) == 1 ? firstAnswer() : null;
        return (await _services.GetRequiredService<RegistryClient>().GetManifestAsync("team/app", _manifest, default)).Probe.Outcome;
    }

    [Theory]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public async Task A_gateway_or_unavailable_answer_is_an_outage_even_when_the_retry_succeeds(HttpStatusCode status)
    {
        Assert.Equal(ProbeOutcome.Present, await AskOnceFailingWithAsync(() => FakeRegistry.Error(status, "UNAVAILABLE")));

        Assert.Equal(_time.GetUtcNow(), Availability.LastUnavailableAt);
        Assert.True(Availability.UnavailableSince(_time.GetUtcNow().AddTicks(-1)));
        Assert.False(Availability.UnavailableSince(_time.GetUtcNow()));
    }

    [Fact]
    public async Task A_refused_connection_is_an_outage()
    {
        Assert.Equal(ProbeOutcome.Present, await AskOnceFailingWithAsync(() => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused")));

        Assert.Equal(_time.GetUtcNow(), Availability.LastUnavailableAt);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.Unauthorized)]
    public async Task Other_answers_are_not(HttpStatusCode status)
    {
        await AskOnceFailingWithAsync(() => FakeRegistry.Error(status, "OTHER"));

        Assert.Null(Availability.LastUnavailableAt);
        Assert.False(Availability.UnavailableSince(DateTimeOffset.MinValue));
    }

    [Fact]
    public void The_latest_outage_is_kept_whoever_records_last()
    {
        var early = new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);
        var late = early.AddSeconds(5);
        // The second recorder read the clock earlier but records later.
        var availability = new RegistryAvailability(new ScriptedClock(late, early));

        availability.RecordUnavailable();
        availability.RecordUnavailable();

        Assert.Equal(late, availability.LastUnavailableAt);
        Assert.True(availability.UnavailableSince(early));
        Assert.False(availability.UnavailableSince(late));
    }

    private sealed class ScriptedClock(params DateTimeOffset[] times) : TimeProvider
    {
        private readonly Queue<DateTimeOffset> _times = new(times);

        public override DateTimeOffset GetUtcNow() => _times.Dequeue();
    }
}
