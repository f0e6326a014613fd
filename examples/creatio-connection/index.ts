// From IdentityService.zip to a Creatio whose OAuth health check passes, in one `pulumi up`:
// the service runs in Docker on Creatio's own database, then Creatio gets the three OAuth20IdentityServer* settings
// (and, by version, the OAuth20Integration feature and the default resource) and its health check must pass.
import * as pulumi from "@pulumi/pulumi";
import { CreatioRuntime, DatabaseProvider, DeploymentTarget, IdentityService } from "creatio-identity-service";

const config = new pulumi.Config();
const creatioVersion = config.require("creatioVersion"); // for example 8.2.3
const runtime = config.get("creatioRuntime") === "net" ? CreatioRuntime.Net : CreatioRuntime.NetFramework;

const identityService = new IdentityService("identity-service", {
    target: DeploymentTarget.Docker,
    creatioVersion,
    database: {
        provider: DatabaseProvider.Postgres,
        // The connection string of Creatio's ConnectionStrings.config.
        connectionString: config.requireSecret("databaseConnectionString"),
    },
    // Change the rotation value to issue a new client; Creatio gets the new secret in the same run.
    client: { rotation: config.get("clientRotation") ?? "1", creatioUrl: config.require("creatioUrl") },
    // Optional: without a path, a signing certificate is generated for this instance.
    signingCertificate: config.get("signingCertificatePath") ? { path: config.require("signingCertificatePath") } : undefined,
    docker: { build: { context: config.require("identityServiceFolder") }, httpPort: 8090 },
    // The URL at which Creatio's server reaches the service: it becomes OAuth20IdentityServerUrl.
    publicUrl: config.require("identityServicePublicUrl"),
    creatio: {
        url: config.require("creatioUrl"),
        username: config.get("creatioUsername") ?? "Supervisor",
        password: config.requireSecret("creatioPassword"),
        runtime,
        // Deleting this stack leaves Creatio's settings as they are unless this is true.
        clearSettingsOnDelete: config.getBoolean("clearCreatioSettingsOnDelete") ?? false,
    },
});

export const url = identityService.url;
export const clientId = identityService.clientId;
export const creatioHealthCheck = identityService.creatioHealthCheck;
