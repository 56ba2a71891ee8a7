namespace RegistryIntegrity.Contracts;

public static class QueueNames
{
    /// <summary>
    /// The durable queue the Listener sends registry events to. The Listener sends to the queue
    /// (declaring it) rather than publishing to an exchange: a broker confirm for a message routed
    /// to an exchange with no bound queue would acknowledge an event that is then dropped.
    /// </summary>
    public const string RegistryEvents = "registry-integrity-events";

    /// <summary>Sweep work, on its own queue so a large sweep never delays the registry's events.</summary>
    public const string Sweeps = "registry-integrity-sweeps";
}
