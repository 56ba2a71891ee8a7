using RegistryIntegrity.Verifier.Cli;

return await VerifierCommandLine.Create().Parse(args).InvokeAsync();

public partial class Program;
