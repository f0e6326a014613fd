// The quickstart program: the Identity Service in Docker, built from the IdentityService.zip that ships with
// Creatio, connected to Creatio's existing database. Configure it with `pulumi config` (see the README).
// Pulumi runs it from this folder (the `main` of ../Pulumi.yaml), so relative paths in config are relative to it.
// It loads the package from this repository's sources; a program of your own imports "creatio-identity-service".
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "../src";

const config = new pulumi.Config();

const identityService = new IdentityService("identity-service", {
    target: DeploymentTarget.Docker,
    creatioVersion: config.require("creatioVersion"),
    database: {
        provider: (config.get("databaseProvider") as DatabaseProvider | undefined) ?? DatabaseProvider.Postgres,
        connectionString: config.requireSecret("connectionString"),
    },
    // Changing clientRotation (any value) generates a new client id and secret.
    client: { creatioUrl: config.get("creatioUrl"), rotation: config.get("clientRotation") },
    signingCertificate: config.get("signingCertificatePath") ? { path: config.require("signingCertificatePath") } : undefined,
    docker: {
        build: { context: config.require("identityServiceFolder") },
        httpPort: config.getNumber("httpPort") ?? 8090,
        // For example 127.0.0.1 behind a reverse proxy on the same host; default: every address of the host.
        bindAddress: config.get("bindAddress"),
    },
});

export const url = identityService.url;
export const clientId = identityService.clientId;
export const clientSecret = identityService.clientSecret;
export const creatioSystemSettings = identityService.creatioSystemSettings;
