using Microsoft.Extensions.Http;

namespace RegistryIntegrity.Verifier.Cli;

/// <summary><c>check --insecure</c>: the registry's and its token realm's certificates are not verified (crane's and regctl's <c>--insecure</c>).</summary>
internal static class InsecureTls
{
    public static IServiceCollection SkipTlsVerification(this IServiceCollection services) =>
        // Runs after each client's own primary-handler set-up (registered later), so it replaces a --ca-file check too.
        services.ConfigureAll<HttpClientFactoryOptions>(factory => factory.HttpMessageHandlerBuilderActions.Add(builder =>
        {
            if (builder.PrimaryHandler is SocketsHttpHandler handler)
#pragma warning disable CA5359 // the user asked for no verification, for this one CLI run
                handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        }));
}
