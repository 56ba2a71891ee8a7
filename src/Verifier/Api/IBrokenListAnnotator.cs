using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegistryIntegrity.Verifier.Api;

/// <summary>Adds to each entry of <c>/v1/broken</c> what would fix it; the repair area knows how.</summary>
public interface IBrokenListAnnotator
{
    Task<IReadOnlyList<JsonNode?>> AnnotateAsync(IEnumerable<object> broken, JsonSerializerOptions json, CancellationToken cancellationToken, Uri? runbook = null);
}
