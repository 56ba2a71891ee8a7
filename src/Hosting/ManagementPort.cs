using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using RegistryIntegrity.Hosting.Settings;

namespace RegistryIntegrity.Hosting;

/// <summary>
/// Probes (<c>/healthz/*</c>) and metrics (<c>/metrics</c>) on a port of their own, <c>Management:Port</c>,
/// so that connections to them (kubelet, Prometheus, or anyone holding sockets open) never take a
/// connection slot of the service's own port, and the service's port never answers them. Without
/// the setting everything is served on the one port, as before.
/// </summary>
public static class ManagementPort
{
    public const string PortKey = "Management:Port";

    /// <summary>Adds <c>Management:Port</c>, on the host of the first <c>Urls</c> entry, to the addresses Kestrel binds.</summary>
    public static int? AddManagementPort(this WebApplicationBuilder builder)
    {
        var port = Read(builder.Configuration);
        if (port is null)
            return null;
        var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
        var first = string.IsNullOrWhiteSpace(urls) ? "http://localhost:5000" : urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0].Trim().TrimEnd('/');
        var hostEnd = first.LastIndexOf(':');
        if (hostEnd <= first.IndexOf("://", StringComparison.Ordinal) || first[(hostEnd + 1)..] == port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))
            throw new SettingsException([$"{PortKey} is invalid: expected a port other than the one of Urls ({first})."]);
        builder.WebHost.UseUrls($"{urls};http://{first[(first.IndexOf("://", StringComparison.Ordinal) + 3)..hostEnd]}:{port}");
        return port;
    }

    /// <summary>
    /// Management paths are answered only on the management port and every other path only off it
    /// (404 otherwise): the port a request came in on decides, not its Host header.
    /// </summary>
    public static IApplicationBuilder UseManagementPort(this IApplicationBuilder app, IConfiguration configuration)
    {
        if (Read(configuration) is not { } port)
            return app;
        return app.Use((context, next) =>
        {
            var path = context.Request.Path;
            var managementPath = path.StartsWithSegments("/healthz") || path.StartsWithSegments("/metrics");
            if (managementPath != (context.Connection.LocalPort == port))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            return next(context);
        });
    }

    /// <summary>Each port Kestrel listens on keeps its own count of open connections and closes those beyond <paramref name="limit"/>.</summary>
    public static void LimitConnectionsPerPort(this KestrelServerOptions kestrel, int limit) =>
        kestrel.ConfigureEndpointDefaults(listen =>
        {
            var open = 0;
            listen.Use(next => async connection =>
            {
                try
                {
                    if (Interlocked.Increment(ref open) > limit)
                    {
                        await connection.Transport.Output.CompleteAsync();
                        return;
                    }
                    await next(connection);
                }
                finally
                {
                    Interlocked.Decrement(ref open);
                }
            });
        });

    /// <summary>Reports a <c>Management:Port</c> that is not a TCP port number before anything starts.</summary>
    public static void Check(SettingsCheck check) =>
        check.Value(PortKey, "a TCP port number (1-65535) other than the port of Urls", text => TryParse(text, out _), required: false);

    private static int? Read(IConfiguration configuration)
    {
        var text = configuration[PortKey];
        if (string.IsNullOrWhiteSpace(text))
            return null;
        return TryParse(text, out var port)
            ? port
            : throw new SettingsException([$"{PortKey} is invalid: expected a TCP port number (1-65535)."]);
    }

    private static bool TryParse(string text, out int port) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
