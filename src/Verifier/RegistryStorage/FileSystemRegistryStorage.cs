using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using RegistryIntegrity.Contracts;
using RegistryIntegrity.Contracts.RegistryStorage;

namespace RegistryIntegrity.Verifier.RegistryStorage;

/// <summary>
/// distribution's filesystem storage driver, read under its <c>rootdirectory</c> (a read-only mount is enough
/// unless layer links are to be removed). Only names that pass <see cref="ReferenceGrammar"/> become paths, so
/// nothing outside the layout is ever opened; symbolic links to directories are not followed when listing.
/// </summary>
public sealed class FileSystemRegistryStorage(string root) : IRegistryStorage
{
    private const int MaxLinkBytes = 1024;

    private static readonly EnumerationOptions OneLevel = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = false,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
    };

    public string Root { get; } = Path.GetFullPath(root);

    public string Location => Root;

    public StorageAnswer<bool> CheckRoot()
    {
        try
        {
            if (!Directory.Exists(Root))
                return StorageAnswer<bool>.NotFound($"{Root} does not exist or is not a directory");
            var v2 = Full(RegistryStorageLayout.V2);
            if (!Directory.Exists(v2))
            {
                // An empty registry has no docker/ yet; anything else in the folder means it is not the registry's root.
                return Directory.EnumerateFileSystemEntries(Root).Any()
                    ? StorageAnswer<bool>.NotFound($"{Root} is not a registry storage root (no {RegistryStorageLayout.V2} inside; give the storage driver's rootdirectory)")
                    : StorageAnswer<bool>.Found(true);
            }
            // Listing both proves the process may read them.
            foreach (var folder in (string[])[RegistryStorageLayout.Repositories, RegistryStorageLayout.Blobs])
            {
                if (Directory.Exists(Full(folder)))
                    _ = Directory.EnumerateFileSystemEntries(Full(folder)).FirstOrDefault();
            }
            return StorageAnswer<bool>.Found(true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return StorageAnswer<bool>.Unreadable($"{Root} cannot be read: {Describe(e)}");
        }
    }

    public async IAsyncEnumerable<string> ListRepositoriesAsync(bool withLayersOnly, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Depth first, each level in ordinal order: only the directories on the current path are held.
        var stack = new Stack<string>();
        stack.Push("");
        while (stack.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var relative = stack.Pop();
            var directory = relative.Length == 0 ? Full(RegistryStorageLayout.Repositories) : Full($"{RegistryStorageLayout.Repositories}/{relative}");
            var children = Subdirectories(directory);
            if (relative.Length > 0 && (children.Contains("_manifests") || (withLayersOnly && children.Contains("_layers"))) && ReferenceGrammar.IsRepository(relative))
                yield return relative;
            foreach (var child in children.Where(c => !c.StartsWith('_')).OrderDescending(StringComparer.Ordinal))
            {
                var name = relative.Length == 0 ? child : $"{relative}/{child}";
                if (name.Length <= ReferenceGrammar.MaxRepositoryLength)
                    stack.Push(name);
            }
            await Task.CompletedTask;
        }
    }

    public IAsyncEnumerable<string> ListTagsAsync(string repository, CancellationToken cancellationToken) =>
        Names(RegistryStorageLayout.TagsPath(repository), ReferenceGrammar.IsTag, cancellationToken);

    public IAsyncEnumerable<string> ListRevisionsAsync(string repository, CancellationToken cancellationToken) =>
        Digests(RegistryStorageLayout.RevisionsPath(repository), cancellationToken);

    public IAsyncEnumerable<string> ListLayerLinksAsync(string repository, CancellationToken cancellationToken) =>
        Digests(RegistryStorageLayout.LayersPath(repository), cancellationToken);

    public async IAsyncEnumerable<string> ListBlobsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var blobs = Full(RegistryStorageLayout.Blobs);
        foreach (var algorithm in StreamSubdirectories(blobs))
        {
            foreach (var prefix in StreamSubdirectories(Path.Join(blobs, algorithm)))
            {
                foreach (var hex in StreamSubdirectories(Path.Join(blobs, algorithm, prefix)))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var digest = $"{algorithm}:{hex}";
                    if (ReferenceGrammar.IsDigest(digest) && hex.StartsWith(prefix, StringComparison.Ordinal)
                        && File.Exists(Full(RegistryStorageLayout.BlobDataPath(digest))))
                        yield return digest;
                }
            }
        }
        await Task.CompletedTask;
    }

    public StorageAnswer<bool> DirectoryExists(string relativePath)
    {
        try
        {
            var info = new DirectoryInfo(Full(relativePath));
            if (info.Exists)
                return StorageAnswer<bool>.Found(true);
            return File.Exists(info.FullName)
                ? StorageAnswer<bool>.Unreadable($"{relativePath} is a file, not a directory")
                : StorageAnswer<bool>.NotFound($"no {relativePath}");
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return StorageAnswer<bool>.Unreadable($"{relativePath} cannot be read: {Describe(e)}");
        }
    }

    public Task<StorageAnswer<string>> ReadLinkAsync(string relativePath, CancellationToken cancellationToken)
    {
        var path = Full(relativePath);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            if (length > MaxLinkBytes)
                return Task.FromResult(StorageAnswer<string>.Unreadable($"link {relativePath} is {length} bytes: not a digest"));
            var buffer = new byte[length];
            var read = ReadFully(handle, buffer);
            var content = Encoding.UTF8.GetString(buffer, 0, read);
            return Task.FromResult(RegistryStorageLayout.TryParseLink(content, out var digest)
                ? StorageAnswer<string>.Found(digest)
                : StorageAnswer<string>.Unreadable($"link {relativePath} holds no digest"));
        }
        catch (Exception e) when (IsNotFound(e))
        {
            return Task.FromResult(StorageAnswer<string>.NotFound($"no {relativePath}"));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return Task.FromResult(StorageAnswer<string>.Unreadable($"link {relativePath} unreadable: {Describe(e)}"));
        }
    }

    public Task<StorageAnswer<long>> StatBlobAsync(string digest, bool readFirstByte, CancellationToken cancellationToken)
    {
        var relative = RegistryStorageLayout.BlobDataPath(digest);
        var path = Full(relative);
        if (!readFirstByte)
        {
            // One stat for the common case; anything else is told apart below by opening the file.
            var info = new FileInfo(path);
            if (info.Exists)
                return Task.FromResult(StorageAnswer<long>.Found(info.Length));
        }
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            if (readFirstByte && length > 0 && RandomAccess.Read(handle, stackalloc byte[1], 0) == 0)
                return Task.FromResult(StorageAnswer<long>.Unreadable($"blob data {digest} is {length} bytes long but its first byte cannot be read"));
            return Task.FromResult(StorageAnswer<long>.Found(length));
        }
        catch (Exception e) when (IsNotFound(e))
        {
            return Task.FromResult(StorageAnswer<long>.NotFound($"no {relative}"));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return Task.FromResult(StorageAnswer<long>.Unreadable($"blob data {digest} unreadable: {Describe(e)}"));
        }
    }

    public Task<StorageAnswer<byte[]>> ReadBlobAsync(string digest, int maxBytes, bool whole, CancellationToken cancellationToken)
    {
        var relative = RegistryStorageLayout.BlobDataPath(digest);
        try
        {
            using var handle = File.OpenHandle(Full(relative), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            if (whole && length > maxBytes)
                return Task.FromResult(StorageAnswer<byte[]>.Unreadable($"blob data {digest} is {length} bytes, more than {maxBytes}"));
            var buffer = new byte[Math.Min(length, maxBytes)];
            var read = ReadFully(handle, buffer);
            if (read < buffer.Length)
                return Task.FromResult(StorageAnswer<byte[]>.Unreadable($"blob data {digest} ended after {read} of {length} bytes"));
            return Task.FromResult(StorageAnswer<byte[]>.Found(buffer));
        }
        catch (Exception e) when (IsNotFound(e))
        {
            return Task.FromResult(StorageAnswer<byte[]>.NotFound($"no {relative}"));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return Task.FromResult(StorageAnswer<byte[]>.Unreadable($"blob data {digest} unreadable: {Describe(e)}"));
        }
    }

    public Task<StorageAnswer<bool>> RemoveLayerLinkAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        var link = Full(RegistryStorageLayout.LayerLinkPath(repository, digest));
        try
        {
            File.Delete(link);
            var directory = Path.GetDirectoryName(link)!;
            if (!Directory.EnumerateFileSystemEntries(directory).Any())
                Directory.Delete(directory);
            return Task.FromResult(StorageAnswer<bool>.Found(true));
        }
        catch (Exception e) when (IsNotFound(e))
        {
            return Task.FromResult(StorageAnswer<bool>.NotFound($"no {RegistryStorageLayout.LayerLinkPath(repository, digest)}"));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return Task.FromResult(StorageAnswer<bool>.Unreadable($"layer link {repository}@{digest} cannot be removed: {Describe(e)}"));
        }
    }

    private async IAsyncEnumerable<string> Names(string relative, Func<string, bool> valid, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var name in StreamSubdirectories(Full(relative)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (valid(name))
                yield return name;
        }
        await Task.CompletedTask;
    }

    /// <summary><c>&lt;alg&gt;/&lt;hex&gt;</c> directories under <paramref name="relative"/>, streamed.</summary>
    private async IAsyncEnumerable<string> Digests(string relative, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var algorithm in StreamSubdirectories(Full(relative)))
        {
            foreach (var hex in StreamSubdirectories(Path.Join(Full(relative), algorithm)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var digest = $"{algorithm}:{hex}";
                if (ReferenceGrammar.IsDigest(digest))
                    yield return digest;
            }
        }
        await Task.CompletedTask;
    }

    private List<string> Subdirectories(string directory) => [.. StreamSubdirectories(directory)];

    /// <summary>A directory that is not there lists nothing (a repository without tags); one that cannot be read stops the listing.</summary>
    private IEnumerable<string> StreamSubdirectories(string directory)
    {
        IEnumerator<DirectoryInfo> entries;
        try
        {
            entries = new DirectoryInfo(directory).EnumerateDirectories("*", OneLevel).GetEnumerator();
        }
        catch (Exception e) when (IsNotFound(e))
        {
            yield break;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new RegistryStorageException($"{Relative(directory)} cannot be listed: {Describe(e)}", e);
        }
        using (entries)
        {
            while (true)
            {
                DirectoryInfo entry;
                try
                {
                    if (!entries.MoveNext())
                        yield break;
                    entry = entries.Current;
                }
                catch (Exception e) when (IsNotFound(e))
                {
                    yield break; // removed while listed
                }
                catch (Exception e) when (e is UnauthorizedAccessException or IOException)
                {
                    throw new RegistryStorageException($"{Relative(directory)} cannot be listed: {Describe(e)}", e);
                }
                if (entry.LinkTarget is null)
                    yield return entry.Name;
            }
        }
    }

    private static int ReadFully(SafeFileHandle handle, byte[] buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(total), total);
            if (read == 0)
                break;
            total += read;
        }
        return total;
    }

    private string Full(string relative) => RegistryStorageLayout.ToFullPath(Root, relative);

    private string Relative(string full) => Path.GetRelativePath(Root, full);

    private static bool IsNotFound(Exception e) => e is FileNotFoundException or DirectoryNotFoundException;

    private static string Describe(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied or not a file",
        _ => e.Message,
    };
}
