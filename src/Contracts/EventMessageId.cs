using System.Security.Cryptography;
using System.Text;

namespace RegistryIntegrity.Contracts;

/// <summary>
/// The MassTransit message id of a registry event. It is derived from the registry's event id
/// alone, so every retry of the same notification (the registry resends on timeouts and errors)
/// carries the same message id and consumers can drop the copies.
/// </summary>
public static class EventMessageId
{
    public static Guid From(string eventId)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventId);
        if (Guid.TryParse(eventId, out var guid))
            return guid;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(eventId), hash);
        return new Guid(hash[..16]);
    }
}
