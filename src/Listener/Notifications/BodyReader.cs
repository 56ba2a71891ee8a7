using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace RegistryIntegrity.Listener.Notifications;

/// <summary>A request body, or its first <c>limit</c> bytes when it is longer (<see cref="TooLarge"/>).</summary>
internal sealed record RequestBody(byte[] Bytes, bool TooLarge);

internal static class BodyReader
{
    /// <summary>
    /// Reads the whole body, or its first <paramref name="limit"/> bytes as soon as it is known to be
    /// longer: an oversized notification from an authenticated registry is kept (cut) rather than refused.
    /// </summary>
    public static async Task<RequestBody> ReadAsync(HttpContext context, long limit, CancellationToken cancellationToken)
    {
        // Kestrel would refuse an announced length over its limit before the first byte; this reader enforces the limit itself.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = null;
        var request = context.Request;
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 4096, limit) + 1);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await request.Body.ReadAsync(memory, cancellationToken);
            if (read == 0)
                return new RequestBody(buffer.WrittenSpan.ToArray(), TooLarge: false);
            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
                return new RequestBody(buffer.WrittenSpan[..(int)limit].ToArray(), TooLarge: true);
        }
    }
}
