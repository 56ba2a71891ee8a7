using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using RegistryIntegrity.Verifier.Registry;
using RegistryIntegrity.Verifier.Tests.Support;

namespace RegistryIntegrity.Verifier.Tests.Registry;

public sealed class Spending_the_request_budget
{
    [Fact]
    public async Task Requests_beyond_the_per_second_budget_wait_for_it_instead_of_failing()
    {
        var registry = new FakeRegistry();
        var blob = registry.AddBlob("layer")["digest"]!.GetValue<string>();
        using var services = VerifierServices.Create(VerifierServices.Configuration(FakeRegistry.BaseUrl, ("MaxRequestsPerSecond", "40")), registry);
        var client = services.GetRequiredService<RegistryClient>();

        var clock = Stopwatch.StartNew();
        var probes = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => client.CheckBlobAsync("team/app", blob, 5, default)));
        clock.Stop();

        Assert.All(probes, p => Assert.Equal(ProbeOutcome.Present, p.Outcome));
        // 60 requests at 40/s (2 tokens every 50 ms, 2 up front): at least 29 refills.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_budget_of_zero_means_no_budget()
    {
        // Whether a request waits is seen without a clock: under a budget of 1 a second (one token, refilled each
        // second) the third at once waits for at least one more refill, however slow this machine is between the
        // asking and the looking; with no budget, every one of 10 000 is granted before it is asked twice.
        using var budgeted = new RequestBudget(Microsoft.Extensions.Options.Options.Create(new RegistryOptions { MaxRequestsPerSecond = 1 }));
        using var unlimited = new RequestBudget(Microsoft.Extensions.Options.Options.Create(new RegistryOptions { MaxRequestsPerSecond = 0 }));

        var underBudget = Enumerable.Range(0, 3).Select(_ => budgeted.AcquireAsync(default)).ToList();
        var thirdWaited = !underBudget[2].IsCompleted;
        var withoutBudget = Enumerable.Range(0, 10_000).Select(_ => unlimited.AcquireAsync(default)).ToList();

        Assert.True(underBudget[0].IsCompletedSuccessfully);
        Assert.True(thirdWaited, "the third request under a budget of 1 a second was granted at once");
        Assert.All(withoutBudget, a => Assert.True(a.IsCompletedSuccessfully));
    }
}
