// Only for what the repository's programs cannot express: a service that never becomes ready. The quickstart
// waits for readiness as long as the component's default (300 s), so a never-ready service would hold the suite
// for five minutes; this program is the quickstart's deployment with the readiness timeout and the component name
// (so its container does not collide with the quickstart's) taken from config. Configured with `pulumi config set`.
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "../../../../src";

const config = new pulumi.Config();

const identityService = new IdentityService(config.require("name"), {
    target: DeploymentTarget.Docker,
    creatioVersion: config.require("creatioVersion"),
    database: { provider: DatabaseProvider.Postgres, connectionString: config.requireSecret("connectionString") },
    signingCertificate: { path: config.require("signingCertificatePath") },
    docker: {
        build: { context: config.require("identityServiceFolder") },
        httpPort: config.requireNumber("httpPort"),
        bindAddress: config.get("bindAddress"),
    },
    readiness: { timeoutSeconds: config.requireNumber("readinessTimeoutSeconds") },
});

export const url = identityService.url;
