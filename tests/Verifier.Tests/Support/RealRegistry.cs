using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Verifier.Tests.Support;

/// <summary>
/// One real registry 2.8.2 for the test classes of the collection. Manifests with foreign-layer
/// URLs are allowed (2.8 refuses them unless <c>validation.manifests.urls.allow</c> is set).
/// </summary>
public sealed class RealRegistry : IAsyncLifetime
{
    public LocalStack Stack { get; private set; } = null!;

    public Uri Uri => Stack.RegistryUri;

    public async Task InitializeAsync() =>
        Stack = await LocalStack.StartAsync(StackServices.Registry, registryEnvironment: new Dictionary<string, string>
        {
            ["REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW"] = "[\"^https://\"]",
        });

    public async Task DisposeAsync()
    {
        if (Stack is not null)
            await Stack.DisposeAsync();
    }

    /// <summary>A repository name no other test uses.</summary>
    public static string NewRepository(string prefix) => $"{prefix}/{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

[CollectionDefinition(Name)]
public sealed class RealRegistryCollection : ICollectionFixture<RealRegistry>
{
    public const string Name = "Real registry 2.8.2";
}
