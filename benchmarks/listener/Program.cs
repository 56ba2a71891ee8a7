using RegistryIntegrity.Benchmarks.Listener;

return await ListenerBenchmark.RunAsync(BenchmarkOptions.Parse(args));
