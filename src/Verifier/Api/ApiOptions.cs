using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace RegistryIntegrity.Verifier.Api;

public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Bearer tokens accepted by the API (several at once, for rotation). Starting a sweep needs one when any is set.</summary>
    public List<string> Tokens { get; set; } = [];

    /// <summary>Reads (<c>/v1/status</c>, <c>/v1/broken</c>, <c>/v1/manifests</c>, <c>GET /v1/sweeps</c>) need a token too. Default: when tokens are set.</summary>
    public bool? ReadsNeedToken { get; set; }

    /// <summary>Where CLI verbs (<c>sweep</c>, <c>backfill</c>) reach the running Verifier's API. Default: the first of <c>Urls</c>.</summary>
    public Uri? Server { get; set; }

    /// <summary>The runbook each <c>/v1/broken</c> entry links (field <c>runbook</c>): the repository's own, at its repair steps, by default.</summary>
    public Uri BrokenRunbookUrl { get; set; } = new(DefaultBrokenRunbookUrl);

    public const string DefaultBrokenRunbookUrl = "https://github.com/OWNER/registry-integrity/blob/main/docs/runbooks/RegistryBrokenManifests.md#repair";

    public bool ReadsProtected => ReadsNeedToken ?? Tokens.Count > 0;
}

internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        for (var i = 0; i < options.Tokens.Count; i++)
        {
            var token = options.Tokens[i];
            if (string.IsNullOrWhiteSpace(token) || token.Length < 16)
                return ValidateOptionsResult.Fail($"Api:Tokens:{i} must be at least 16 characters long.");
            // A secret created from a file often ends with a newline: it could never match, so say so.
            if (token.Trim() != token || token.Any(char.IsWhiteSpace))
                return ValidateOptionsResult.Fail($"Api:Tokens:{i} contains whitespace (a trailing newline from a secret file?): remove it.");
        }
        if (options.ReadsNeedToken == true && options.Tokens.Count == 0)
            return ValidateOptionsResult.Fail("Api:ReadsNeedToken is true but Api:Tokens is empty: no client could read.");
        if (options.Server is { } server && (!server.IsAbsoluteUri || server.Scheme is not ("http" or "https")))
            return ValidateOptionsResult.Fail("Api:Server must be an absolute http(s) URL such as http://verifier:5090/.");
        if (!options.BrokenRunbookUrl.IsAbsoluteUri || options.BrokenRunbookUrl.Scheme is not ("http" or "https"))
            return ValidateOptionsResult.Fail("Api:BrokenRunbookUrl must be an absolute http(s) URL such as https://wiki.example.com/runbooks/registry-broken.");
        return ValidateOptionsResult.Success;
    }
}
