/**
 * The Docker target: an image (pulled, or built from the extracted IdentityService.zip and never pushed) and a
 * container whose configuration is a settings file uploaded into it (`appsettings.Production.json`, which holds every
 * secret), with the certificates uploaded next to it (no host volume). Its environment holds only what is not secret:
 * where Kestrel listens, which settings file to read, and the user's own variables; `docker inspect` shows no secret.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { DockerBuild, DockerDeployment, RestartPolicy, TlsCertificate } from "../args";
import { TlsCertificateSettings, tlsCertificateSettings } from "../certificates";
import { Claim, knownClaims } from "../claims";
import { ManagedKey, mergeEnvironment, renderSettingsFile, Setting } from "../configuration";
import { ManagedVariable, TargetManaged } from "../escapeHatches";
import { pathForProviders } from "../providerPaths";
import { forwardedHeadersEnvironment } from "../proxy";
import { createLocalReadinessGate } from "../readiness";
import { ArgumentCheck, checks, describe, isKnown } from "../validation";
import { CONTAINER_HTTP_PORT, checkedHealthCheck } from "./healthCheck";
import { forwardedHeadersFor, PlannedTarget } from "./target";

export { CONTAINER_HTTP_PORT } from "./healthCheck";

export const DEFAULT_HTTP_PORT = 8090;
export const DEFAULT_HTTPS_PORT = 8443;
export const DEFAULT_HOSTNAME = "localhost";
export const DEFAULT_BIND_ADDRESS = "0.0.0.0";
export const DEFAULT_DOCKERFILE = "Dockerfile-OAuth";
export const DEFAULT_RESTART_POLICY = RestartPolicy.UnlessStopped;

/** Inside the container: the vendor's image serves on port 80 (and 443 for HTTPS) from /app. */
export const CONTAINER_HTTPS_PORT = 443;
/** Next to the service, in its working directory /app (the vendor runs the image with `--workdir /app`). */
export const CONTAINER_SIGNING_CERTIFICATE_PATH = "/app/signing-certificate.pfx";
export const CONTAINER_TLS_CERTIFICATE_PATH = "/app/tls-certificate.pfx";

/**
 * ASP.NET Core's default host reads `appsettings.{Environment}.json` from the content root after `appsettings.json`;
 * the environment is `Production` unless `ASPNETCORE_ENVIRONMENT` says otherwise, and the container targets set it,
 * so that an image that names another environment still reads this file. The vendor's image runs from /app. Both
 * container targets deliver the whole configuration in this file (Docker uploads it, Swarm mounts it as a secret).
 */
export const ASPNETCORE_ENVIRONMENT = "Production";
export const SETTINGS_FILE_PATH = `/app/appsettings.${ASPNETCORE_ENVIRONMENT}.json`;
/** The variable the container targets set so that the service reads the settings file. */
export const SETTINGS_FILE_VARIABLES: readonly ManagedVariable[] = [
    { name: "ASPNETCORE_ENVIRONMENT", purpose: `which makes the service read the settings file ${SETTINGS_FILE_PATH}`, secret: false },
];

/** The configuration key of the Kestrel certificate's password, written into the settings file (never the environment). */
export const KESTREL_CERTIFICATE_PASSWORD_KEY = "Kestrel:Certificates:Default:Password";

/**
 * What a container target (`docker` or `swarm`, running the service in a container or a task) sets in the environment
 * and the settings file besides the package's keys: the listening addresses, the settings file's environment and, with
 * HTTPS, Kestrel's certificate path and password.
 */
export function containerManaged(target: "docker" | "swarm", runsIn: string): TargetManaged {
    return {
        settings: [{ key: KESTREL_CERTIFICATE_PASSWORD_KEY, by: `${target}.https.certificate.password`, secret: true } satisfies ManagedKey],
        environment: [
            { name: "ASPNETCORE_URLS", purpose: `the ports 80 and 443 inside the ${runsIn} that \`${target}.httpPort\` and \`${target}.https.port\` publish`, secret: false },
            ...SETTINGS_FILE_VARIABLES,
            { name: "ASPNETCORE_HTTPS_PORT", argument: `${target}.https.port`, secret: false },
            { name: "ASPNETCORE_Kestrel__Certificates__Default__Path", argument: `${target}.https.certificate`, secret: false },
        ],
    };
}

/** What the Docker target sets in the container's environment and settings file besides the package's keys. */
export const DOCKER_MANAGED: TargetManaged = containerManaged("docker", "container");

/**
 * How often and how patiently Docker runs the container's health check, as the Docker provider reads a container's
 * health check back (Go's `time.Duration.String`: "1m0s", not "1m", or every run would show a change).
 */
export const CONTAINER_HEALTH_CHECK_TIMING = { interval: "3s", timeout: "3s", startPeriod: "1m0s", retries: 3 } as const;

/** Label that marks the containers of this package, with the component name as value. */
export const CONTAINER_LABEL = "creatio-identity-service.component";
/** Label with client re-seeding's restart token: a new token replaces the container, so the service seeds again. */
export const RESTART_TOKEN_LABEL = "creatio-identity-service.client-reseed";

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Docker settings with defaults applied and plain values checked. */
export interface DockerSettings {
    readonly image?: pulumi.Input<string>;
    readonly imageDigest?: pulumi.Input<string>;
    readonly build?: ImageBuild;
    readonly containerName: pulumi.Input<string>;
    readonly httpPort: pulumi.Input<number>;
    /** Undefined: derived from the Docker daemon's address (`defaultHostname`). */
    readonly hostname?: pulumi.Input<string>;
    readonly bindAddress: pulumi.Input<string>;
    readonly networks?: pulumi.Input<pulumi.Input<string>[]>;
    readonly restart: pulumi.Input<RestartPolicy>;
    readonly https?: ContainerHttpsSettings;
    readonly healthCheck: pulumi.Input<pulumi.Input<string>[]>;
}

export function dockerSettings(name: string, args: DockerDeployment, check: ArgumentCheck): DockerSettings {
    if ((args.image === undefined) === (args.build === undefined)) {
        check.fail(
            "docker",
            args.image === undefined
                ? "neither `image` nor `build` is set; give `image` (a prebuilt image to pull) or `build` (the extracted IdentityService.zip folder)"
                : "both `image` and `build` are set; give only one of them",
        );
    }
    const httpPort = check.input("docker.httpPort", args.httpPort ?? DEFAULT_HTTP_PORT, checks.port);
    const https = containerHttpsSettings("docker", args.https, httpPort, check);
    return {
        image: args.image && check.input("docker.image", args.image, checks.nonEmpty),
        imageDigest: imageDigest(args, check),
        build: args.build && buildSettings(args.build, check),
        containerName: check.input(
            args.containerName === undefined ? "docker.containerName (default: the component name)" : "docker.containerName",
            args.containerName ?? name,
            value =>
                CONTAINER_NAME.test(value)
                    ? undefined
                    : `${describe(value)} is not a valid container name; use letters, digits, "_", "." and "-", starting with a letter or digit`,
        ),
        httpPort,
        hostname: check.optional("docker.hostname", args.hostname, checks.hostname),
        bindAddress: check.input("docker.bindAddress", args.bindAddress ?? DEFAULT_BIND_ADDRESS, value =>
            net.isIP(value) ? undefined : `${describe(value)} is not an IP address; use for example "0.0.0.0" or "127.0.0.1"`,
        ),
        networks: args.networks,
        restart: check.input("docker.restart", args.restart ?? DEFAULT_RESTART_POLICY, checks.oneOf(RestartPolicy, "restart policy")),
        https,
        healthCheck: checkedHealthCheck(check, "docker.healthCheck", args.healthCheck, true),
    };
}

/** The HTTPS endpoint of a container target with its default port applied and its certificate checked and read. */
export interface ContainerHttpsSettings {
    readonly port: pulumi.Input<number>;
    readonly certificate: TlsCertificateSettings;
}

/**
 * Checks the `https` block of a container target (`docker.https` or `swarm.https`): a certificate, and a port other
 * than the target's `httpPort`. Undefined without the block (or without its certificate, which is then recorded).
 */
export function containerHttpsSettings(
    target: "docker" | "swarm",
    https: { port?: pulumi.Input<number>; certificate: TlsCertificate } | undefined,
    httpPort: pulumi.Input<number>,
    check: ArgumentCheck,
): ContainerHttpsSettings | undefined {
    if (!https) {
        return undefined;
    }
    if (!https.certificate) {
        check.fail(`${target}.https.certificate`, "HTTPS needs a TLS certificate; give `certificate.path` of a .pfx file, its bytes as `certificate.pfxBase64`, or `certificate.certificatePem` with `certificate.privateKeyPem`");
        return undefined;
    }
    const port = check.input(`${target}.https.port`, https.port ?? DEFAULT_HTTPS_PORT, checks.port);
    if (isKnown(port) && isKnown(httpPort) && port === httpPort) {
        check.fail(`${target}.https.port`, `${port} is also ${target}.httpPort; use two different ${target === "docker" ? "host ports" : "published ports"}`);
    }
    return { port, certificate: tlsCertificateSettings(`${target}.https.certificate`, https.certificate, check) };
}

/** Checks the build context: a folder on the machine that runs Pulumi that holds the Dockerfile. */
function buildSettings(build: DockerBuild, check: ArgumentCheck): NonNullable<DockerSettings["build"]> {
    const dockerfile = build.dockerfile ?? DEFAULT_DOCKERFILE;
    const context = check.input("docker.build.context", build.context, value => {
        const empty = checks.nonEmpty(value);
        if (empty) {
            return empty;
        }
        if (!isFolder(value)) {
            return (
                `${describe(value)} does not exist or is not a folder (relative paths start at the program's working directory, ` +
                `${describe(process.cwd())}); give the folder IdentityService.zip was extracted to`
            );
        }
        // The Dockerfile is checked here when it is known, so that the problem names the folder it is missing from.
        if (isKnown(dockerfile) && !isFile(path.resolve(value, dockerfile))) {
            return build.dockerfile === undefined
                ? `${describe(value)} holds no ${DEFAULT_DOCKERFILE}; give the folder IdentityService.zip was extracted to (the one with ${DEFAULT_DOCKERFILE} in it)`
                : `${describe(value)} holds no ${describe(dockerfile)} (docker.build.dockerfile); give the folder that has it, or correct the Dockerfile's name`;
        }
        return undefined;
    });
    return { context, dockerfile };
}

function isFolder(target: string): boolean {
    try {
        return fs.statSync(path.resolve(target)).isDirectory();
    } catch {
        return false;
    }
}

function isFile(target: string): boolean {
    try {
        return fs.statSync(target).isFile();
    } catch {
        return false;
    }
}

const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

function imageDigest(args: DockerDeployment, check: ArgumentCheck): pulumi.Input<string> | undefined {
    if (args.imageDigest === undefined) {
        return undefined;
    }
    if (args.build !== undefined) {
        check.fail("docker.imageDigest", "applies to a pulled `image`, not to `build`; remove it");
    }
    if (typeof args.image === "string" && args.image.includes("@")) {
        check.fail("docker.imageDigest", "`image` already names a digest; give the digest in one place only");
    }
    return check.input("docker.imageDigest", args.imageDigest, value =>
        IMAGE_DIGEST.test(value)
            ? undefined
            : `${describe(value)} is not an image digest; give "sha256:" and 64 lowercase hex digits, as \`docker buildx imagetools inspect <image>\` prints it`,
    );
}

/**
 * The reference to pull: the image by its digest when one is given. The Docker provider looks a reference up
 * locally before pulling, so only a digest reference that is not local yet makes it pull a re-pushed tag.
 */
export function pullReference(image: string, digest: string | undefined): string {
    if (digest === undefined) {
        return image;
    }
    return `${image}@${digest}`;
}

/**
 * What a container takes exclusively on its Docker host: its name and its host ports (whatever the bind address,
 * to stay on the safe side). Values not known yet cannot be claimed.
 */
export function dockerClaims(settings: DockerSettings, host: string): Claim[] {
    return knownClaims(`docker:${host}`, host === "default" ? "on the default Docker host" : `on the Docker host of ${host}`, [
        ["docker.containerName", settings.containerName, name => `container name "${name}"`],
        ["docker.httpPort", settings.httpPort, port => `host port ${port}`],
        ["docker.https.port", settings.https?.port, port => `host port ${port}`],
    ]);
}

/**
 * The host of a remote Docker daemon, from the Docker provider's `host` (as `DOCKER_HOST` writes it:
 * `ssh://user@host:22`, `tcp://host:2376`), or undefined for a daemon on this machine (a Unix socket, a named pipe,
 * a loopback address, or nothing set).
 */
export function remoteDockerHost(daemon: string | undefined): string | undefined {
    if (!daemon) {
        return undefined;
    }
    let parsed: URL;
    try {
        parsed = new URL(daemon);
    } catch {
        return undefined; // not a URL Docker accepts; the provider reports it
    }
    if (parsed.protocol !== "ssh:" && parsed.protocol !== "tcp:" && parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        return undefined; // unix://, npipe://
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
    return host === "" || isLoopback(host) ? undefined : host;
}

/** Whether a host name or address names this machine only. */
export function isLoopback(host: string): boolean {
    const bare = host.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
    return bare === "localhost" || bare.endsWith(".localhost") || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare) || bare === "0.0.0.0";
}

/**
 * Where the machine that runs Pulumi reaches the published ports when `docker.hostname` is not given: the remote
 * daemon's host (the ports are published there), else `localhost`.
 */
export function defaultHostname(daemon: string | undefined): string {
    return remoteDockerHost(daemon) ?? DEFAULT_HOSTNAME;
}

/**
 * The warning for a remote Docker host whose service would be handed to Creatio as a loopback address (Creatio
 * would then look for the service on its own machine), or undefined.
 */
export function loopbackPublicUrlWarning(daemon: string | undefined, publicUrl: string): string | undefined {
    const remote = remoteDockerHost(daemon);
    if (remote === undefined || !URL.canParse(publicUrl) || !isLoopback(new URL(publicUrl).hostname)) {
        return undefined;
    }
    return (
        `the service runs on the remote Docker host ${remote}, but Creatio would receive ${publicUrl} ` +
        "(OAuth20IdentityServerUrl), which points at Creatio's own machine; set `publicUrl` to the address at which Creatio reaches the service " +
        `(for example "http://${remote}:${new URL(publicUrl).port || 80}")`
    );
}

/** The URL the service answers on at a host name and the published port(s). */
export function serviceUrl(hostname: string, httpPort: number, httpsPort?: number): string {
    return httpsPort === undefined ? `http://${hostname}:${httpPort}` : `https://${hostname}:${httpsPort}`;
}

/**
 * The container's own environment: where Kestrel listens (and, with HTTPS, the published HTTPS port and the
 * certificate's path), the environment whose settings file it reads, and `host`, further variables of ASP.NET Core's
 * host (the forwarded headers switch, proxy.ts). Nothing secret: the certificate's password is in the settings file
 * (`containerSettings`).
 */
export function containerEnvironment(https?: { port: number }, host: Readonly<Record<string, string>> = {}): Record<string, string> {
    const endpoint: Record<string, string> = https
        ? {
              ASPNETCORE_URLS: `https://+:${CONTAINER_HTTPS_PORT};http://+:${CONTAINER_HTTP_PORT}`,
              // The port browsers are redirected to: the published one.
              ASPNETCORE_HTTPS_PORT: String(https.port),
              ASPNETCORE_Kestrel__Certificates__Default__Path: CONTAINER_TLS_CERTIFICATE_PATH,
          }
        : { ASPNETCORE_URLS: `http://+:${CONTAINER_HTTP_PORT}` };
    return { ...endpoint, ASPNETCORE_ENVIRONMENT, ...host };
}

/** The container's settings: the service configuration and, with HTTPS, the Kestrel certificate's password. */
export function containerSettings(configuration: readonly Setting[], certificatePassword?: string): Setting[] {
    return certificatePassword ? [...configuration, { key: KESTREL_CERTIFICATE_PASSWORD_KEY, value: certificatePassword }] : [...configuration];
}

/** Environment variables as the Docker provider takes them: `NAME=value`. */
export function environmentEntries(environment: Readonly<Record<string, string>>): string[] {
    return Object.entries(environment).map(([name, value]) => `${name}=${value}`);
}

/** The local tag of a built image: one per component, so two instances never overwrite each other's tag. */
export function builtImageName(componentName: string, creatioVersion: string): string {
    const suffix = componentName.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[^a-z0-9]+/, "");
    return `creatio-identity-service:${creatioVersion}-${suffix || "default"}`.slice(0, 128);
}

export interface DockerServiceInputs {
    readonly settings: DockerSettings;
    readonly creatioVersion: string;
    /** The rendered service configuration (secret). */
    readonly configuration: pulumi.Output<Setting[]>;
    /** Base64 bytes of the signing PFX (secret), when one is given. */
    readonly signingCertificate?: pulumi.Output<string>;
    /** The Docker daemon's address (the provider's `host`), to derive the default host name from. */
    readonly daemon?: pulumi.Input<string | undefined>;
    /** Changes whenever client re-seeding deleted rows (empty until then). */
    readonly restartToken?: pulumi.Output<string>;
    /** Whether the service takes the scheme from the proxy's forwarded headers (`forwardedHeadersFor`). */
    readonly forwardedHeaders?: pulumi.Input<boolean>;
    /** The user's environment variables (none secret), each replacing a container variable of the same name. */
    readonly environment: pulumi.Output<Record<string, string>>;
}

/** The container's labels: the restart token only once there is one, so that turning re-seeding on changes nothing. */
export function containerLabels(componentName: string, restartToken: string | undefined): docker.types.input.ContainerLabel[] {
    const labels = [{ label: CONTAINER_LABEL, value: componentName }];
    return restartToken ? [...labels, { label: RESTART_TOKEN_LABEL, value: restartToken }] : labels;
}

export interface DockerService {
    readonly image: docker.Image | docker.RemoteImage;
    readonly container: docker.Container;
    /** The service URL as the machine that runs Pulumi reaches it. */
    readonly url: pulumi.Output<string>;
}

/** The build folder (the extracted IdentityService.zip) and its Dockerfile, with defaults applied. */
export interface ImageBuild {
    readonly context: pulumi.Input<string>;
    readonly dockerfile: pulumi.Input<string>;
}

/** The image built from the archive, kept on the local engine under the component's own tag (Docker and Swarm). */
export function createBuiltImage(
    name: string,
    build: ImageBuild,
    creatioVersion: string,
    opts: pulumi.CustomResourceOptions,
): docker.Image {
    return new docker.Image(
        `${name}-image`,
        {
            imageName: builtImageName(name, creatioVersion),
            build: {
                // The provider stores both paths as given and diffs them: relative paths keep a checkout in
                // another folder from rebuilding (the context's contents are hashed separately).
                context: pulumi.output(build.context).apply(context => pathForProviders(context)),
                // The provider resolves a relative Dockerfile from its working directory, not from the context.
                dockerfile: pulumi
                    .all([build.context, build.dockerfile])
                    .apply(([context, dockerfile]) => pathForProviders(path.resolve(context, dockerfile))),
            },
            skipPush: true,
        },
        opts,
    );
}

function createImage(name: string, inputs: DockerServiceInputs, opts: pulumi.CustomResourceOptions) {
    const { image, build } = inputs.settings;
    if (build) {
        const built = createBuiltImage(name, build, inputs.creatioVersion, opts);
        return { resource: built, reference: built.repoDigest };
    }
    const reference = pulumi.all([image!, inputs.settings.imageDigest]).apply(([tag, digest]) => pullReference(tag, digest));
    const pulled = new docker.RemoteImage(`${name}-image`, { name: reference, keepLocally: true }, opts);
    return { resource: pulled, reference: pulled.imageId };
}

/**
 * Creates the image and the container. `containerDependsOn` orders the container after work that must precede
 * every (re)start of the service, such as client re-seeding.
 */
export function createDockerService(
    name: string,
    inputs: DockerServiceInputs,
    parent: pulumi.Resource,
    containerDependsOn: pulumi.Resource[],
): DockerService {
    const { settings } = inputs;
    const image = createImage(name, inputs, { parent });
    const httpsPort = settings.https?.port;

    // Nothing secret in the environment, where `docker inspect` shows it: every secret is in the settings file.
    const environment = pulumi
        .all([httpsPort, inputs.environment, inputs.forwardedHeaders])
        .apply(([port, user, forwardedHeaders]) =>
            environmentEntries(
                mergeEnvironment(containerEnvironment(port === undefined ? undefined : { port }, forwardedHeadersEnvironment(forwardedHeaders === true)), user),
            ),
        );
    const settingsFile = pulumi
        .all([inputs.configuration, settings.https?.certificate.password])
        .apply(([configuration, certificatePassword]) => renderSettingsFile(containerSettings(configuration, certificatePassword)));

    const uploads: pulumi.Input<docker.types.input.ContainerUpload>[] = [{ file: SETTINGS_FILE_PATH, content: settingsFile }];
    if (inputs.signingCertificate) {
        uploads.push({ file: CONTAINER_SIGNING_CERTIFICATE_PATH, contentBase64: inputs.signingCertificate });
    }
    if (settings.https) {
        uploads.push({ file: CONTAINER_TLS_CERTIFICATE_PATH, contentBase64: settings.https.certificate.pfxBase64 });
    }

    const ports: pulumi.Input<docker.types.input.ContainerPort>[] = [
        { internal: CONTAINER_HTTP_PORT, external: settings.httpPort, ip: settings.bindAddress },
    ];
    if (settings.https) {
        ports.push({ internal: CONTAINER_HTTPS_PORT, external: settings.https.port, ip: settings.bindAddress });
    }

    const container = new docker.Container(
        `${name}-container`,
        {
            name: settings.containerName,
            image: image.reference,
            envs: environment,
            ports,
            uploads: pulumi.secret(pulumi.all(uploads)),
            restart: settings.restart,
            networksAdvanced: settings.networks
                ? pulumi.output(settings.networks).apply(names => names.map(network => ({ name: network })))
                : undefined,
            labels: inputs.restartToken
                ? inputs.restartToken.apply(token => containerLabels(name, token))
                : containerLabels(name, undefined),
            mustRun: true,
            healthcheck: { tests: settings.healthCheck, ...CONTAINER_HEALTH_CHECK_TIMING },
        },
        {
            parent,
            dependsOn: containerDependsOn,
            // A fixed container name and host port cannot exist twice: remove the old container first.
            deleteBeforeReplace: true,
            // The provider updates a changed health check in its state only (its Update never sends it to Docker):
            // a new health check needs a new container.
            replaceOnChanges: ["healthcheck"],
        },
    );

    return { image: image.resource, container, url: dockerServiceUrl(settings, inputs.daemon) };
}

/** The container's URL as the machine that runs Pulumi reaches it. */
export function dockerServiceUrl(settings: DockerSettings, daemon: pulumi.Input<string | undefined> | undefined): pulumi.Output<string> {
    return pulumi
        .all([settings.hostname, daemon, settings.httpPort, settings.https?.port])
        .apply(([hostname, host, port, tlsPort]) => serviceUrl(hostname ?? defaultHostname(host), port, tlsPort));
}

/**
 * The Docker target behind the target interface: the image and the container, the warning for a loopback
 * `publicUrl` on a remote Docker host, and a readiness gate on the machine that runs Pulumi.
 */
export function planDocker(settings: DockerSettings): PlannedTarget {
    return {
        facts: { signingCertificatePath: CONTAINER_SIGNING_CERTIFICATE_PATH, servedOverHttps: settings.https !== undefined },
        claims: host => dockerClaims(settings, host),
        // The container's own networks, or the default bridge it is on without any.
        reseedNetworks: () => ({ networks: settings.networks ? pulumi.output(settings.networks) : [], dependsOn: [] }),
        deploy: (name, inputs, parent, dependsOn) => {
            const deployed = createDockerService(
                name,
                {
                    settings,
                    creatioVersion: inputs.profile.text,
                    configuration: inputs.configuration,
                    signingCertificate: inputs.signingCertificate,
                    daemon: inputs.daemon,
                    restartToken: inputs.restartToken,
                    forwardedHeaders: forwardedHeadersFor(inputs, dockerServiceUrl(settings, inputs.daemon)),
                    environment: inputs.environment,
                },
                parent,
                dependsOn,
            );
            pulumi.all([inputs.daemon, inputs.publicUrl ?? deployed.url]).apply(([host, publicUrl]) => {
                const warning = loopbackPublicUrlWarning(host, publicUrl);
                if (warning) {
                    void pulumi.log.warn(warning, parent);
                }
            });
            const gate = inputs.readiness
                ? createLocalReadinessGate(
                      name,
                      {
                          url: deployed.url,
                          publicUrl: inputs.publicUrl,
                          clientId: inputs.readiness.clientId,
                          clientSecret: inputs.readiness.clientSecret,
                          revision: deployed.container.id,
                      },
                      inputs.readiness.settings,
                      { parent },
                  )
                : undefined;
            return { url: deployed.url, gate, service: deployed.container };
        },
    };
}
