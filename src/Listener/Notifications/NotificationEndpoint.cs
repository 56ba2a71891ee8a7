namespace RegistryIntegrity.Listener.Notifications;

public static class NotificationEndpoint
{
    public const string Path = "/v1/events";

    public static IEndpointRouteBuilder MapNotificationEndpoint(this IEndpointRouteBuilder routes)
    {
        routes.MapPost(Path, (HttpContext context, NotificationHandler handler) => handler.HandleAsync(context));
        return routes;
    }
}
