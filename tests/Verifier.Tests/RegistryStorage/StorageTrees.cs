using RegistryIntegrity.Contracts.RegistryStorage;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Verifier.Tests.RegistryStorage;

/// <summary>
/// A real registry 2.8.2 of its own (its storage is scanned whole, so no other test's damage may be in it) with a
/// small healthy catalog pushed through its API, and a copy of its storage taken then, for each test to damage.
/// </summary>
public sealed class StorageScanRegistry : IAsyncLifetime
{
    public const string Collection = "Registry storage";

    public LocalStack Stack { get; private set; } = null!;
    public PushedIndex Index { get; private set; } = null!;
    public PushedImage Tagged { get; private set; } = null!;
    public PushedImage Untagged { get; private set; } = null!;
    public Descriptor LoneBlob { get; private set; } = null!;
    private string _healthy = "";

    /// <summary>The live registry's storage root (its filesystem driver's rootdirectory).</summary>
    public string LiveRoot => Path.Combine(Stack.StackDir, "registry", "data");

    public async Task InitializeAsync()
    {
        Stack = await LocalStack.StartAsync(StackServices.Registry);
        using var pusher = new RegistryPusher(Stack.RegistryUri);
        Index = await pusher.PushIndexAsync("fsck/indexed", "v1");
        Tagged = await pusher.PushImageAsync("fsck/plain", "v1");
        Untagged = await pusher.PushImageAsync("fsck/plain");
        LoneBlob = await pusher.PushRandomBlobAsync("fsck/blobs", 512);
        _healthy = Directory.CreateTempSubdirectory("rit-fsck-healthy-").FullName;
        StorageTree.Copy(LiveRoot, _healthy);
    }

    public async Task DisposeAsync()
    {
        if (Stack is not null)
            await Stack.DisposeAsync();
        if (_healthy.Length > 0)
            Directory.Delete(_healthy, recursive: true);
    }

    /// <summary>A fresh copy of the healthy storage, deleted with the returned tree.</summary>
    public StorageTree CopyHealthy()
    {
        var root = Directory.CreateTempSubdirectory("rit-fsck-").FullName;
        StorageTree.Copy(_healthy, root);
        return new StorageTree(root);
    }
}

/// <summary>A registry storage root on disk, and the damage the tests plant in it.</summary>
/// <param name="owned">A copy, deleted on dispose; the live registry's root is never deleted.</param>
public sealed class StorageTree(string root, bool owned = true) : IDisposable
{
    public string Root => root;

    public void Dispose()
    {
        if (owned && Directory.Exists(root))
            Directory.Delete(root, recursive: true);
    }

    /// <summary>What <c>garbage-collect --delete-untagged</c> does to an untagged revision: its revision directory goes.</summary>
    public void RemoveRevision(string repository, string digest) =>
        Directory.Delete(Full(RegistryStorageLayout.RevisionDirectoryPath(repository, digest)), recursive: true);

    public void RemoveBlobData(string digest) => File.Delete(Full(RegistryStorageLayout.BlobDataPath(digest)));

    /// <summary>Data that exists but cannot be read as a file (root reads any file, so a directory stands in for a permission problem).</summary>
    public void MakeBlobDataUnreadable(string digest)
    {
        var data = Full(RegistryStorageLayout.BlobDataPath(digest));
        File.Delete(data);
        Directory.CreateDirectory(data);
    }

    public bool Exists(string relative) => File.Exists(Full(relative)) || Directory.Exists(Full(relative));

    /// <summary>Every directory, and every file with its size and modification time: equal snapshots mean nothing was changed.</summary>
    public IReadOnlyList<string> Snapshot() =>
        [.. new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories)
            .Select(e => e is FileInfo file ? $"{Path.GetRelativePath(root, e.FullName)} {file.Length} {file.LastWriteTimeUtc.Ticks}" : $"{Path.GetRelativePath(root, e.FullName)}/")
            .Order(StringComparer.Ordinal)];

    private string Full(string relative) => RegistryStorageLayout.ToFullPath(root, relative);

    public static void Copy(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}

[CollectionDefinition(StorageScanRegistry.Collection)]
public sealed class StorageScanRegistryCollection : ICollectionFixture<StorageScanRegistry>;
