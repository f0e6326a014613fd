// The quickstart's deployment with what users change between runs taken from config (`pulumi config set`), for the
// e2e scenarios that need more than the quickstart exposes: the component's name (so its container does not collide
// with the quickstart's), the readiness timeout, `client.rotation`, `client.reseed`, `client.reseedRunner` and
// `client.reseedImage`, `docker.hostname`, the publish
// address, an explicit Docker provider (and the daemon address it is given, `dockerHost`), `repair`, and the version of @pulumi/docker the Docker resources are registered with
// (as a newer @pulumi/docker registers them: its default provider is another one).
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, ReseedRunner } from "../../../../src";

const config = new pulumi.Config();

const dockerPluginVersion = config.get("dockerPluginVersion");
if (dockerPluginVersion) {
    pulumi.runtime.registerStackTransformation(args =>
        args.type.startsWith("docker:") ? { props: args.props, opts: { ...args.opts, version: dockerPluginVersion } } : undefined);
}
const dockerHost = config.get("dockerHost");
const explicitProvider = config.getBoolean("explicitDockerProvider") ? new docker.Provider("local-docker", dockerHost ? { host: dockerHost } : {}) : undefined;

const identityService = new IdentityService(config.require("name"), {
    target: DeploymentTarget.Docker,
    creatioVersion: config.require("creatioVersion"),
    database: { provider: DatabaseProvider.Postgres, connectionString: config.requireSecret("connectionString") },
    client: {
        rotation: config.get("clientRotation"),
        reseed: config.getBoolean("reseed"),
        reseedRunner: config.get("reseedRunner") as ReseedRunner | undefined,
        reseedImage: config.get("reseedImage"),
    },
    signingCertificate: { path: config.require("signingCertificatePath") },
    docker: {
        build: { context: config.require("identityServiceFolder") },
        httpPort: config.requireNumber("httpPort"),
        bindAddress: config.get("bindAddress"),
        hostname: config.get("hostname"),
    },
    readiness: { timeoutSeconds: config.getNumber("readinessTimeoutSeconds") },
    repair: config.get("repair"),
}, explicitProvider ? { providers: [explicitProvider] } : undefined);

export const url = identityService.url;
export const clientId = identityService.clientId;
export const clientSecret = identityService.clientSecret;
