// The quickstart's program with two more settings the e2e machine needs: this machine re-seeds through loopback
// (its connections to the Docker gateway are refused by PostgreSQL's pg_hba) and the port is published on
// loopback only. Configured with `pulumi config set`, like the quickstart.
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "../../../../src";

const config = new pulumi.Config();
const image = config.get("image");

const identityService = new IdentityService(config.require("name"), {
    target: DeploymentTarget.Docker,
    creatioVersion: config.require("creatioVersion"),
    database: {
        provider: DatabaseProvider.Postgres,
        connectionString: config.requireSecret("connectionString"),
        reseedConnectionString: config.requireSecret("reseedConnectionString"),
    },
    client: { rotation: config.get("clientRotation") },
    signingCertificate: { path: config.require("signingCertificatePath") },
    docker: {
        ...(image ? { image } : { build: { context: config.require("identityServiceFolder") } }),
        httpPort: config.requireNumber("httpPort"),
        bindAddress: "127.0.0.1",
    },
    readiness: { timeoutSeconds: config.getNumber("readinessTimeoutSeconds") ?? 120 },
});

export const url = identityService.url;
export const clientId = identityService.clientId;
export const clientSecret = identityService.clientSecret;
