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
    client: { creatioUrl: config.get("creatioUrl") },
    signingCertificate: config.get("signingCertificatePath") ? { path: config.require("signingCertificatePath") } : undefined,
    docker: {
        build: { context: config.require("identityServiceFolder") },
        httpPort: config.getNumber("httpPort") ?? 8090,
    },
});

export const url = identityService.url;
export const clientId = identityService.clientId;
export const clientSecret = identityService.clientSecret;
export const creatioSystemSettings = identityService.creatioSystemSettings;
