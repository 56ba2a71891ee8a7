using System.Security.Cryptography;

namespace RegistryIntegrity.Verifier.Repair;

/// <summary>
/// Reads a blob from a source while hashing it, so the bytes sent on are the bytes the digest names. At the end
/// of the data it fails the read (and so the upload carrying it) when the digest or the length is not the expected one.
/// </summary>
internal sealed class DigestCheckingStream(Stream inner, string digest, long? length) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(
        digest.StartsWith("sha512:", StringComparison.Ordinal) ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);
    private bool _verified;

    public long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
            return 0;
        if (length is { } expected && BytesRead >= expected)
        {
            Verify();
            return 0;
        }
        var read = await inner.ReadAsync(buffer, cancellationToken);
        if (read == 0)
        {
            Verify();
            return 0;
        }
        _hash.AppendData(buffer.Span[..read]);
        BytesRead += read;
        if (length is { } limit && BytesRead > limit)
            throw new IOException($"the source sent more than the {limit} bytes it announced for {digest}");
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Throws unless every byte was read and they hash to the digest.</summary>
    public void Verify()
    {
        if (_verified)
            return;
        if (length is { } expected && BytesRead != expected)
            throw new IOException($"the source sent {BytesRead} of the {expected} bytes of {digest}");
        var actual = digest[..(digest.IndexOf(':', StringComparison.Ordinal) + 1)] + Convert.ToHexStringLower(_hash.GetHashAndReset());
        if (actual != digest)
            throw new IOException($"the source sent bytes whose digest is {actual}, not {digest}");
        _verified = true;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _hash.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>At most <paramref name="count"/> bytes of <paramref name="inner"/>, which it leaves open: one upload chunk.</summary>
internal sealed class ChunkStream(Stream inner, long count) : Stream
{
    private long _left = count;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int length) => ReadAsync(buffer.AsMemory(offset, length)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_left == 0 || buffer.Length == 0)
            return 0;
        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken);
        _left -= read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int length, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, length), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int length) => throw new NotSupportedException();
}
