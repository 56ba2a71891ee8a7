using MassTransit;

namespace RegistryIntegrity.Verifier.Consumers;

/// <summary>
/// Events sent again by the <c>replay</c> verb carry this header: they are processed even though
/// their ids were processed before, and they are history, not news (no restart sweep).
/// </summary>
public static class ReplayedEvents
{
    public const string Header = "RegistryIntegrity-Replay";

    public static bool IsReplay(this ConsumeContext context) => context.Headers.TryGetHeader(Header, out var value) && value is "true";
}
