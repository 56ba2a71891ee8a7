using RegistryIntegrity.Listener;

var builder = WebApplication.CreateBuilder(args);
builder.AddListenerServices();

var app = builder.Build();
app.MapListenerEndpoints();
app.Run();

public partial class Program;
