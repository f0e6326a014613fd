// A slice of a larger Creatio platform program: everything runs on a remote Docker host reached over SSH. The
// Identity Service gets its own PostgreSQL container on a private network, and the component receives the remote
// host's provider through `providers`, so its image and container land there too.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "creatio-identity-service";
import { IdentityDatabase } from "./database";

const config = new pulumi.Config();
const dockerHost = config.require("dockerHost"); // e.g. ssh://deploy@creatio-apps.example.com
const publicHostname = config.require("publicHostname"); // how Creatio reaches the Docker host

const remote = new docker.Provider("apps-host", { host: dockerHost });

/**
 * What the component has no argument for, set on the child it creates: a transform (Pulumi's `transforms` option)
 * runs on the component and on every child it registers, so it picks the container by type and adds a memory limit
 * and log rotation. Returning undefined leaves every other child as it is.
 */
export const limitContainer: pulumi.ResourceTransform = ({ type, props, opts }) =>
    type === "docker:index/container:Container"
        ? { props: { ...props, memory: 512, logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" } }, opts }
        : undefined;

const network = new docker.Network("creatio-private", { name: "creatio-private" }, { provider: remote });
const database = new IdentityDatabase("identity-db", { network, maintenancePort: 15432 }, { provider: remote });

const identityService = new IdentityService(
    "identity-service",
    {
        target: DeploymentTarget.Docker,
        creatioVersion: config.get("creatioVersion") ?? "8.3.1",
        database: {
            provider: DatabaseProvider.Postgres,
            connectionString: database.connectionString,
            // The deploying machine forwards the maintenance port (ssh -L 15432:127.0.0.1:15432 ...) for re-seeding.
            reseedConnectionString: database.maintenanceConnectionString,
        },
        client: { creatioUrl: config.require("creatioUrl"), rotation: config.get("clientRotation") },
        // Your own .pfx, if you have one; otherwise the package generates a signing certificate for this instance.
        signingCertificate: config.get("signingCertificatePath") ? { path: config.require("signingCertificatePath") } : undefined,
        docker: {
            build: { context: config.require("identityServiceFolder") },
            hostname: publicHostname,
            httpPort: 8090,
            networks: [network.name],
        },
        // The escape hatches: a key of appsettings.json and an environment variable the package has no argument for.
        additionalSettings: { "Logging:LogLevel:Microsoft.AspNetCore": "Warning" },
        environment: { TZ: "Europe/Berlin" },
    },
    { providers: [remote], dependsOn: [database], transforms: [limitContainer] },
);

// The hand-off to the next step of the platform program: Creatio's OAuth system settings.
export const identityServiceUrl = identityService.url;
export const creatioOAuthSettings = identityService.creatioSystemSettings;
