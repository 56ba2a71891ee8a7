namespace RegistryIntegrity.TestSupport;

[Flags]
public enum StackServices
{
    None = 0,
    RabbitMq = 1,
    Registry = 2,
    Postgres = 4,
    All = RabbitMq | Registry | Postgres,
}
