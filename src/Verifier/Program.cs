using RegistryIntegrity.Verifier.Cli;

return await VerifierCommandLine.InvokeAsync(args);

public partial class Program;
