using System.Text.Json;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Verifier.Store;
using RegistryIntegrity.Verifier.Verdicts;

namespace RegistryIntegrity.Verifier.Consumers;

internal static class ProcessedEvents
{
    public static ProcessedEvent From<T>(T message, bool replay = false) where T : class, IRegistryEvent => new(
        message.EventId, typeof(T).Name, message.Repository, message.OccurredAt, message.SourceInstanceId,
        JsonSerializer.Serialize(message), replay);
}
