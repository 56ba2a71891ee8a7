using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net;

namespace RegistryIntegrity.TestSupport;

/// <summary>
/// Records every name resolution and every TCP connect this process starts (the runtime's own
/// System.Net.NameResolution and System.Net.Sockets events), split into loopback and the rest.
/// Process-wide: it also sees other tests' connections, which all go to 127.0.0.1.
/// </summary>
public sealed class OutboundConnections : EventListener
{
    private readonly ConcurrentQueue<string> _elsewhere = new();
    private readonly ConcurrentQueue<IPEndPoint> _loopback = new();

    public IReadOnlyCollection<string> Elsewhere => _elsewhere;

    public IReadOnlyCollection<IPEndPoint> Loopback => _loopback;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name is "System.Net.NameResolution" or "System.Net.Sockets")
            EnableEvents(eventSource, EventLevel.Informational);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        var argument = eventData.Payload is [string text, ..] ? text : null;
        switch (eventData.EventName)
        {
            case "ResolutionStart" when argument is not null && !IsLoopbackName(argument):
                _elsewhere.Enqueue($"name resolution of {argument}");
                break;
            case "ConnectStart" when argument is not null:
                if (ParseEndPoint(argument) is { } endPoint)
                {
                    if (IPAddress.IsLoopback(endPoint.Address))
                        _loopback.Enqueue(endPoint);
                    else
                        _elsewhere.Enqueue($"connect to {endPoint}");
                }
                else if (!argument.StartsWith("Unix", StringComparison.Ordinal))
                    _elsewhere.Enqueue($"connect to {argument}");
                break;
        }
    }

    private static bool IsLoopbackName(string name) =>
        name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(name, out var address) && IPAddress.IsLoopback(address));

    /// <summary>The runtime writes the socket address as an end point, or as "Family:Size:{bytes}" (port, then address, in network order).</summary>
    private static IPEndPoint? ParseEndPoint(string text)
    {
        if (IPEndPoint.TryParse(text, out var parsed))
            return parsed;
        var open = text.IndexOf('{', StringComparison.Ordinal);
        if (open < 0 || !text.EndsWith('}'))
            return null;
        var bytes = text[(open + 1)..^1].Split(',').Select(b => byte.Parse(b.Trim(), CultureInfo.InvariantCulture)).ToArray();
        var port = (bytes[0] << 8) | bytes[1];
        if (text.StartsWith("InterNetworkV6", StringComparison.Ordinal) && bytes.Length >= 22)
            return new IPEndPoint(new IPAddress(bytes.AsSpan(6, 16)), port);
        if (text.StartsWith("InterNetwork", StringComparison.Ordinal) && bytes.Length >= 6)
            return new IPEndPoint(new IPAddress(bytes.AsSpan(2, 4)), port);
        return null;
    }
}
