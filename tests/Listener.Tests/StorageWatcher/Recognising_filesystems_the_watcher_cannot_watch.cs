using RegistryIntegrity.Listener.StorageWatcher;

namespace RegistryIntegrity.Listener.Tests.StorageWatcher;

/// <summary>Which mounts the watcher refuses: changes made by other hosts raise no inotify events on them.</summary>
public sealed class Recognising_filesystems_the_watcher_cannot_watch
{
    private static readonly string[] MountInfo =
    [
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw",
        "36 22 98:0 /mnt1 /mnt/local rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        "521 22 0:52 / /var/lib/registry rw,relatime shared:300 - nfs4 storage:/export/registry rw,vers=4.2",
        "530 22 0:60 / /srv/sshfs rw,nosuid,nodev - fuse.sshfs user@host:/data rw,user_id=0",
        "540 22 0:61 / /srv/stacked rw - cifs //nas/registry rw",
        "541 540 0:62 / /srv/stacked rw - tmpfs tmpfs rw",
    ];

    [Theory]
    [InlineData("/var/lib/registry", "nfs4")]
    [InlineData("/var/lib/registry/docker/registry/v2", "nfs4")]
    [InlineData("/srv/sshfs/registry", "fuse.sshfs")]
    [InlineData("/mnt/local/registry", null)]
    [InlineData("/var/lib/other", null)]
    [InlineData("/srv/stacked/registry", null)]
    public void The_mount_holding_the_tree_decides(string tree, string? refused)
    {
        Assert.Equal(refused, StorageTreeWatch.RemoteFilesystem(tree, MountInfo));
    }

    [Fact]
    public void A_temporary_folder_here_is_watchable()
    {
        var tree = Directory.CreateTempSubdirectory("watchable-").FullName;
        try
        {
            // This machine's own /proc/self/mountinfo: the test's temporary folder is on a local filesystem.
            Assert.Null(StorageTreeWatch.RemoteFilesystem(tree));
        }
        finally
        {
            Directory.Delete(tree);
        }
    }
}
