using Microsoft.Extensions.Options;
using RegistryIntegrity.Hosting.Settings;
using RegistryIntegrity.Listener;
using RegistryIntegrity.Listener.StorageWatcher;

// The content root is the application's folder, so appsettings.json applies wherever the process is started.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
try
{
    var watchStorage = args.FirstOrDefault() == StorageWatcherServiceExtensions.Verb;
    if (watchStorage) builder.AddStorageWatcherServices(); else builder.AddListenerServices();
    var app = builder.Build();
    if (watchStorage) app.MapStorageWatcherEndpoints(); else app.MapListenerEndpoints();
    await app.RunAsync();
    return 0;
}
catch (SettingsException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return SettingsException.ExitCode;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync(string.Join(Environment.NewLine, e.Failures));
    return SettingsException.ExitCode;
}

public partial class Program;
