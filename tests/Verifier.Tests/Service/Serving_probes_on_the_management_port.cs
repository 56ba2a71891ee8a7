using System.Net;
using RegistryIntegrity.TestSupport;

namespace RegistryIntegrity.Verifier.Tests.Service;

/// <summary>The Verifier as a process, with <c>Management:Port</c> set, on a real RabbitMQ.</summary>
public sealed class Serving_probes_on_the_management_port
{
    [Fact]
    public async Task Probes_and_metrics_are_answered_only_there_and_the_API_only_on_the_service_port()
    {
        await using var stack = await LocalStack.StartAsync(StackServices.RabbitMq);
        var data = Directory.CreateTempSubdirectory("rit-management-port-");
        try
        {
            await using var verifier = await ServiceProcess.StartAsync("Verifier", new Dictionary<string, string>
            {
                ["ConnectionStrings__RabbitMq"] = stack.RabbitMqUri.ToString(),
                ["Registry__BaseUrl"] = "http://127.0.0.1:1/",
                ["Store__ConnectionString"] = $"Data Source={Path.Combine(data.FullName, "verifier.db")}",
                ["Sweep__Enabled"] = "false",
                ["Management__Port"] = LocalStack.GetFreeTcpPorts(1)[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var main = verifier.BaseUri;
            var management = verifier.ManagementUri;

            Assert.NotEqual(main.Port, management.Port);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(management, "/healthz/ready"))).StatusCode);
            Assert.Contains("registry_integrity_", await http.GetStringAsync(new Uri(management, "/metrics")), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(management, "/v1/broken"))).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(main, "/healthz/live"))).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(main, "/metrics"))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(main, "/v1/broken"))).StatusCode);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
