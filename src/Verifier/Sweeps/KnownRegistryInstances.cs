using System.Collections.Concurrent;

namespace RegistryIntegrity.Verifier.Sweeps;

/// <summary>
/// The registry instance ids this process already found in the store, so that the restart check
/// costs a store round trip once per instance rather than once per event. The store stays the
/// judge of "new": it is shared by every replica.
/// </summary>
public sealed class KnownRegistryInstances
{
    private const int Capacity = 64;
    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);

    public bool Contains(string instanceId) => _known.ContainsKey(instanceId);

    public void Add(string instanceId)
    {
        // Instances change only on registry restarts; forgetting them all now and then costs one store check each.
        if (_known.Count >= Capacity)
            _known.Clear();
        _known.TryAdd(instanceId, 0);
    }
}
