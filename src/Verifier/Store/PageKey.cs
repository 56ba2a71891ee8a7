namespace RegistryIntegrity.Verifier.Store;

/// <summary>Where a page of a list ends: the (repository, digest) or (repository, tag) of its last item.</summary>
public sealed record PageKey(string Repository, string Name);
