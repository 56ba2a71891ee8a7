using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using RegistryIntegrity.Hosting;
using RegistryIntegrity.Verifier.Store.Retention;

namespace RegistryIntegrity.Verifier.Store.Dapper;

public static class DapperStoreServiceExtensions
{
    public static IServiceCollection AddDapperRepositories(this IServiceCollection services)
    {
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<StoreOptions>, StoreOptionsValidator>();
        services.AddSingleton<IDbConnectionFactory>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<StoreOptions>>().Value;
            return options.Provider switch
            {
                StoreProvider.Postgres => new NpgsqlConnectionFactory(NpgsqlDataSource.Create(options.ConnectionString)),
                _ => new SqliteConnectionFactory(options.ConnectionString),
            };
        });
        services.AddSingleton<IVerdictStore, DapperVerdictStore>();
        services.AddSingleton<ISweepStore, DapperSweepStore>();
        services.AddSingleton<IEventLog, DapperEventLog>();
        services.AddSingleton<IStoreRetention, DapperStoreRetention>();
        services.AddHostedService<StoreMigrationService>();
        return services;
    }

    /// <summary>Ready only while the verdict store answers.</summary>
    public static IHealthChecksBuilder AddStoreHealthCheck(this IHealthChecksBuilder checks) =>
        checks.AddCheck<StoreHealthCheck>("store", tags: [ServiceDefaults.ReadyTag]);
}

/// <summary>Applies schema migrations before the consumers start.</summary>
internal sealed class StoreMigrationService(IVerdictStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal sealed class StoreHealthCheck(IVerdictStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("the verdict store is unreachable", e);
        }
    }
}
