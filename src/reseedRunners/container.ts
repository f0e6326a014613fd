/**
 * The `container` re-seed runner: each step is still a local command, which runs `src/scripts/reseed-container.js`;
 * that script drives the `docker` CLI against the Docker provider's daemon to run the re-seed script, bundled with its
 * drivers, in a one-shot container on the service's networks. The database is then reached only from where the
 * service reaches it. Why a local command and not a `docker.Container`: see docs/reseed.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { DatabaseProvider } from "../args";
import { bundledScriptPath, nodeScriptCommand } from "../packagedScripts";
import { pathForProviders } from "../providerPaths";
import { ReseedRunner } from "../reseed";
import { Check, describe } from "../validation";

/** An official Node.js image on its current long-term-support line; any image with `node` 18+ on its PATH works. */
export const DEFAULT_RESEED_IMAGE = "node:24-alpine";
/** The re-seed script with its `pg` and `mssql` drivers in one file, built by `npm run build` (esbuild). */
export const RESEED_BUNDLE = "reseed.bundle.js";
/** Labels of the re-seed containers: the component (as on the service's containers) and the step. */
export const RESEED_ROLE_LABEL = "creatio-identity-service.role";

/**
 * How the `docker` CLI reaches the Docker provider's daemon: the provider's `host`, `certPath` and `context`, as the CLI
 * reads them from its environment. Unset ones are left to the CLI's own defaults, which are the provider's too
 * (`DOCKER_HOST`, `DOCKER_CERT_PATH` of the environment Pulumi runs in, else the local socket).
 */
export interface DockerCliConnection {
    readonly host?: pulumi.Input<string | undefined>;
    readonly certPath?: pulumi.Input<string | undefined>;
    readonly context?: pulumi.Input<string | undefined>;
}

/** The connection of an explicit Docker provider, or of the default provider's stack configuration. */
export function dockerCliConnection(provider: docker.Provider | undefined): DockerCliConnection {
    return provider
        ? { host: provider.host, certPath: provider.certPath, context: provider.context }
        : { host: docker.config.host, certPath: docker.config.certPath, context: docker.config.context };
}

/**
 * The `docker` CLI takes TLS files from a folder only (`DOCKER_CERT_PATH`), not the PEM text a Docker provider may hold
 * in `caMaterial`, `certMaterial` and `keyMaterial`: warn, naming the fix, when those are set without `certPath`.
 */
export function warnAboutInlineTlsMaterial(provider: docker.Provider | undefined, parent: pulumi.Resource): void {
    const material = provider
        ? pulumi.all([provider.caMaterial, provider.certMaterial, provider.keyMaterial, provider.certPath])
        : pulumi.output([docker.config.caMaterial, docker.config.certMaterial, docker.config.keyMaterial, docker.config.certPath]);
    // Only whether they are set is read, never their values.
    pulumi.unsecret(material.apply(([ca, cert, key, certPath]) => Boolean((ca || cert || key) && !certPath))).apply(inline => {
        if (inline) {
            void pulumi.log.warn(
                "the Docker provider holds its TLS certificates as text (caMaterial, certMaterial, keyMaterial), which the docker CLI of " +
                    'the "container" re-seed runner cannot read; give the provider `certPath`, a folder with ca.pem, cert.pem and key.pem, ' +
                    'or set `client.reseedRunner: "local"`',
                parent,
            );
        }
    });
}

/** The CLI's environment for a connection: only what is set. Nothing here is secret. */
export function dockerCliEnvironment(connection: { host?: string; certPath?: string; context?: string }): Record<string, string> {
    const environment: Record<string, string> = {};
    if (connection.host) {
        environment.DOCKER_HOST = connection.host;
    }
    if (connection.certPath) {
        environment.DOCKER_CERT_PATH = connection.certPath;
        environment.DOCKER_TLS_VERIFY = "1";
    }
    if (connection.context) {
        environment.DOCKER_CONTEXT = connection.context;
    }
    return environment;
}

export interface ContainerRunnerSettings {
    readonly provider: DatabaseProvider;
    /** The component's name: the containers' label, as on the service's own containers. */
    readonly componentName: string;
    readonly image: pulumi.Input<string>;
    /** Networks (names or IDs) the container joins, the first at creation; none: the default bridge. */
    readonly networks: pulumi.Input<string[]>;
    readonly connection: DockerCliConnection;
    /** What the networks come from (the Swarm service's own network). */
    readonly dependsOn: pulumi.Resource[];
}

export function containerRunner(settings: ContainerRunnerSettings): ReseedRunner {
    const command = nodeScriptCommand("reseed-container.js");
    return {
        step: role => ({
            command,
            environment: pulumi
                .all([settings.image, settings.networks, settings.connection.host, settings.connection.certPath, settings.connection.context])
                .apply(([image, networks, host, certPath, context]) => ({
                    RESEED_DB_PROVIDER: settings.provider,
                    RESEED_IMAGE: image,
                    RESEED_NETWORKS: JSON.stringify(networks),
                    RESEED_COMPONENT: settings.componentName,
                    RESEED_ROLE: role,
                    // Relative to the providers' directory, like the script itself: the same text on every machine.
                    RESEED_BUNDLE: pathForProviders(bundledScriptPath(RESEED_BUNDLE)),
                    ...dockerCliEnvironment({ host, certPath, context }),
                })),
        }),
        dependsOn: settings.dependsOn,
    };
}

/*
 * An image reference as Docker reads one (distribution/reference regexp.go and reference.go @ 00a09fa: ReferenceRegexp,
 * NameTotalLengthMax): an optional registry host (with a dot, a port or `localhost`), lowercase path components with
 * `.`, `_`, `__` or dashes between alphanumerics, an optional tag of up to 128 word characters, dots and dashes, and an
 * optional digest.
 */
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE = new RegExp(`^(${NAME})(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`);
const NAME_MAX_LENGTH = 255;

export const imageReferenceCheck: Check<string> = value => {
    const match = typeof value === "string" ? REFERENCE.exec(value) : null;
    if (!match) {
        return `${describe(value)} is not an image reference; give one as \`docker pull\` takes it, for example "${DEFAULT_RESEED_IMAGE}" or "registry.example.com/tools/node:24@sha256:<64 hex digits>"`;
    }
    if (match[1].length > NAME_MAX_LENGTH) {
        return `${describe(value)} has a repository name longer than ${NAME_MAX_LENGTH} characters, which Docker refuses; give a shorter one`;
    }
    return undefined;
};
