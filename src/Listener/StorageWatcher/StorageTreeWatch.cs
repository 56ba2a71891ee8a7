namespace RegistryIntegrity.Listener.StorageWatcher;

/// <summary>
/// One recursive watch of <c>docker/registry/v2</c> (on Linux, one inotify watch per directory). Removed and
/// moved-away paths go to <see cref="Removed"/>; a lost watch or a full kernel queue to <see cref="Failed"/>.
/// The callbacks run on the watcher's thread and only hand the path on.
/// </summary>
public sealed class StorageTreeWatch : IDisposable
{
    private readonly FileSystemWatcher _watcher;

    private StorageTreeWatch(string tree, Action<string> removed, Action<Exception> failed)
    {
        _watcher = new FileSystemWatcher(tree)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName,
            InternalBufferSize = 64 * 1024,
        };
        _watcher.Deleted += (_, e) => removed(e.FullPath);
        // Moved away is as good as removed for the registry (a rename inside the tree also creates the new path).
        _watcher.Renamed += (_, e) => removed(e.OldFullPath);
        _watcher.Error += (_, e) => failed(e.GetException());
    }

    /// <summary>Starts watching; throws <see cref="IOException"/> when the kernel refuses (watch or instance limit).</summary>
    public static StorageTreeWatch Start(string tree, Action<string> removed, Action<Exception> failed)
    {
        var watch = new StorageTreeWatch(tree, removed, failed);
        try
        {
            watch._watcher.EnableRaisingEvents = true;
            return watch;
        }
        catch
        {
            watch.Dispose();
            throw;
        }
    }

    public void Dispose() => _watcher.Dispose();

    /// <summary>Directories under (and including) <paramref name="tree"/>, counting stops past <paramref name="limit"/>.</summary>
    public static int CountDirectories(string tree, int limit)
    {
        var count = 1;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var _ in Directory.EnumerateDirectories(tree, "*", options))
        {
            if (++count > limit)
                break;
        }
        return count;
    }

    /// <summary>The kernel's per-user inotify watch limit, or null where there is none to read (not Linux).</summary>
    public static int? KernelWatchLimit()
    {
        const string path = "/proc/sys/fs/inotify/max_user_watches";
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var limit) ? limit : null;
    }

    /// <summary>
    /// What identifies the mounted tree: the mount holding it (a remount gets a new mount id) and the folder's
    /// inode (a replaced folder is a new one). Null when the tree is not there.
    /// </summary>
    public static string? Identity(string tree)
    {
        if (!Directory.Exists(tree))
            return null;
        var full = Path.GetFullPath(tree);
        var mount = MountOf(full, MountInfo()) is { } f ? $"{f[0]}:{f[2]}:{f[4]}" : null;
        return $"{mount}|{Inode(full)}";
    }

    /// <summary>
    /// The type of the tree's filesystem when it is one whose changes made elsewhere raise no inotify event here (NFS,
    /// SMB, 9p, CephFS, GlusterFS, Lustre, FUSE): a registry on another host could remove everything unseen. Null otherwise.
    /// </summary>
    public static string? RemoteFilesystem(string tree, IEnumerable<string>? mountInfo = null)
    {
        if (MountOf(Path.GetFullPath(tree), mountInfo ?? MountInfo()) is not { } fields)
            return null;
        // After the optional fields comes "-", then the filesystem type.
        var separator = Array.IndexOf(fields, "-", 6);
        if (separator < 0 || separator + 1 >= fields.Length)
            return null;
        var type = fields[separator + 1];
        return RemoteTypes.Contains(type) || type.StartsWith("fuse", StringComparison.Ordinal) ? type : null;
    }

    private static readonly HashSet<string> RemoteTypes = new(StringComparer.Ordinal)
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "afs",
    };

    private static IEnumerable<string> MountInfo()
    {
        const string mountInfo = "/proc/self/mountinfo";
        return File.Exists(mountInfo) ? File.ReadLines(mountInfo) : [];
    }

    /// <summary>
    /// The mountinfo fields (mount id, parent id, major:minor, root, mount point, ...) of the mount holding
    /// <paramref name="full"/>: the longest mount point wins, and of mounts stacked on one point the last listed (on top).
    /// </summary>
    private static string[]? MountOf(string full, IEnumerable<string> mountInfo) =>
        mountInfo
            .Select(line => line.Split(' '))
            .Where(f => f.Length > 4 && (full == f[4] || full.StartsWith(f[4].TrimEnd('/') + "/", StringComparison.Ordinal)))
            .OrderBy(f => f[4].Length)
            .LastOrDefault();

    /// <summary>
    /// The folder's device and inode (a replaced folder is a new inode), from stat(2): on 64-bit Linux (x64 and
    /// arm64 alike) <c>st_dev</c> and <c>st_ino</c> are the first two 8-byte fields. Elsewhere, or on failure, null.
    /// </summary>
    private static string? Inode(string path)
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
            return null;
        var buffer = new byte[256];
        try
        {
            return Stat(path, buffer) == 0 ? $"{BitConverter.ToUInt64(buffer, 0)}:{BitConverter.ToUInt64(buffer, 8)}" : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int Stat([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
}
