namespace RegistryIntegrity.Verifier.Registry;

public static class ManifestMediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// <summary>
    /// Sent on every manifest request. Without the OCI types the registry answers 404 for an OCI
    /// manifest even by digest, which a walker would misread as a missing child.
    /// </summary>
    public static readonly IReadOnlyList<string> Accept =
        [OciIndex, OciManifest, DockerManifestList, DockerManifest, DockerSchema1Signed, DockerSchema1];

    public static bool IsIndex(string? mediaType) => mediaType is OciIndex or DockerManifestList;
    public static bool IsSchema1(string? mediaType) => mediaType is DockerSchema1 or DockerSchema1Signed;
}
