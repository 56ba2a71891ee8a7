using Microsoft.Extensions.Options;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Verifier.Api;
using RegistryIntegrity.Verifier.Monitoring;

namespace RegistryIntegrity.Verifier.Repair;

public static class RepairServiceExtensions
{
    /// <summary>
    /// Repair from source registries, on top of <see cref="Verification.VerificationServiceExtensions.AddVerification"/> and the store.
    /// The <c>Repair</c> section is checked now: a bad setting throws <see cref="SettingsException"/> (one line each).
    /// </summary>
    public static IServiceCollection AddRepair(this IServiceCollection services, IConfiguration configuration, TextWriter? warnings = null)
    {
        var check = new SettingsCheck(configuration);
        check.Section(RepairOptions.SectionName, new RepairOptionsValidator());
        foreach (var warning in check.ThrowIfInvalid())
            (warnings ?? Console.Error).WriteLine($"warning: {warning}");
        services.AddOptions<RepairOptions>().BindConfiguration(RepairOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<RepairOptions>, RepairOptionsValidator>();
        services.AddVerifierMetricsRegistry();
        services.AddSingleton<RepairMetrics>();
        services.AddSingleton<SourceRegistries>();
        services.AddSingleton<ObjectCopier>();
        services.AddSingleton<RepairHints>();
        services.AddSingleton<IBrokenListAnnotator>(provider => provider.GetRequiredService<RepairHints>());
        services.AddSingleton<RepairGate>();
        services.AddTransient<RepairExecutor>();
        services.AddTransient<RepairService>();
        return services;
    }
}
