using RegistryIntegrity.Hosting;
using RegistryIntegrity.Verifier.Monitoring;
using RegistryIntegrity.Verifier.Registry;

namespace RegistryIntegrity.Verifier.Verification;

public static class VerificationServiceExtensions
{
    /// <summary>Registry client, walker and verification: all that the <c>check</c> verb needs too.</summary>
    public static IServiceCollection AddVerification(this IServiceCollection services)
    {
        services.AddRegistryClient();
        services.AddSystemTime();
        services.AddVerifierMetricsRegistry();
        services.AddSingleton<VerifierMetrics>();
        services.AddTransient<ManifestWalker>();
        services.AddTransient<VerificationService>();
        return services;
    }
}
