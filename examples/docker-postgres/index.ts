// The Identity Service in Docker, next to a PostgreSQL container that stands in for Creatio's database.
// The two containers share a private network; only the Identity Service publishes a port.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { DatabaseProvider, DeploymentTarget, IdentityService, LogLevel } from "creatio-identity-service";

const config = new pulumi.Config();
// The extracted IdentityService.zip that ships with Creatio 8.0.8 or later (it holds Dockerfile-OAuth).
const identityServiceFolder = config.require("identityServiceFolder");
const creatioVersion = config.get("creatioVersion") ?? "8.2.3";
const creatioUrl = config.get("creatioUrl");

const network = new docker.Network("creatio", { name: "creatio" });

const databasePassword = new random.RandomPassword("postgres-password", { length: 24, special: false });
const postgresImage = new docker.RemoteImage("postgres", { name: "postgres:16", keepLocally: true });
const postgres = new docker.Container("postgres", {
    name: "creatio-postgres",
    image: postgresImage.imageId,
    envs: [pulumi.interpolate`POSTGRES_PASSWORD=${databasePassword.result}`, "POSTGRES_USER=creatio", "POSTGRES_DB=creatio"],
    networksAdvanced: [{ name: network.name, aliases: ["postgres"] }],
    // Published on loopback only, for client re-seeding from this machine.
    ports: [{ internal: 5432, external: 15432, ip: "127.0.0.1" }],
    restart: "unless-stopped",
    // The first start initialises the database before the server accepts connections: the deployment waits until
    // it does, so that the client re-seeding below finds the database running.
    healthcheck: { tests: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -p 5432 -U creatio -d creatio"], interval: "2s", timeout: "5s", retries: 30 },
    wait: true,
    waitTimeout: 120,
});

const identityService = new IdentityService(
    "identity-service",
    {
        target: DeploymentTarget.Docker,
        creatioVersion,
        database: {
            provider: DatabaseProvider.Postgres,
            // The same connection string Creatio uses (ConnectionStrings.config), reached over the private network.
            connectionString: pulumi.interpolate`Server=postgres;Port=5432;Database=creatio;User ID=creatio;Password=${databasePassword.result};`,
            // This machine reaches the same database through the published port.
            reseedConnectionString: pulumi.interpolate`Server=127.0.0.1;Port=15432;Database=creatio;User ID=creatio;Password=${databasePassword.result};`,
        },
        client: { creatioUrl },
        // Your own .pfx, if you have one; otherwise the package generates a signing certificate for this instance.
        signingCertificate: config.get("signingCertificatePath") ? { path: config.require("signingCertificatePath") } : undefined,
        logLevel: LogLevel.Information,
        docker: {
            build: { context: identityServiceFolder },
            httpPort: 8090,
            // For example 127.0.0.1 behind a reverse proxy on the same host; default: every address of the host.
            bindAddress: config.get("bindAddress"),
            networks: [network.name],
        },
        readiness: { timeoutSeconds: 300 },
    },
    { dependsOn: [postgres] },
);

export const url = identityService.url;
export const clientId = identityService.clientId;
export const clientSecret = identityService.clientSecret;
export const creatioSystemSettings = identityService.creatioSystemSettings;
