using MassTransit;
using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.Verifier.RegistryStorageRemovals;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>Removals the storage watcher saw on the registry's disk (GC, cleanup scripts): re-walk what they affect.</summary>
public sealed class RegistryStorageRemovedConsumer(RegistryStorageRemovalHandler handler) : IConsumer<RegistryStorageRemoved>
{
    public Task Consume(ConsumeContext<RegistryStorageRemoved> context) => handler.HandleAsync(context.Message, context.CancellationToken);
}
