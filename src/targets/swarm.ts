/**
 * The Docker Swarm target: the Identity Service as a replicated Swarm service on an overlay network of its own.
 * Everything secret (the rendered configuration with the connection string, the client secret and the HTTPS
 * certificate's password, the signing certificate and the HTTPS certificate) reaches the tasks as Docker secrets mounted as files, so `docker service inspect` shows none of it.
 * Secrets are immutable and auto-named: a change creates a new secret, the service rolls over to it one task at a
 * time (start-first, health-gated, rolled back when a new task fails its health check), and the old secret is
 * deleted once nothing uses it.
 *
 * The service is only ever updated in place, never replaced by a change the component makes itself: the Docker
 * provider replaces a service when a ForceNew field changes (its container labels, networks, hosts), and a new
 * service would ask for the port the old one still publishes. A client re-seed restarts the tasks through
 * `taskSpec.forceUpdate`, which the provider updates in place and Swarm rolls out like any other change.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { parse as parseConnectionString } from "@tediousjs/connection-string";
import { SwarmDeployment, SwarmUpdate } from "../args";
import { Claim, knownClaims } from "../claims";
import { mergeEnvironment, renderSettingsFile } from "../configuration";
import { TargetManaged } from "../escapeHatches";
import {
    containerEnvironment,
    ContainerHttpsSettings,
    containerHttpsSettings,
    containerSettings,
    createBuiltImage,
    CONTAINER_HTTP_PORT,
    CONTAINER_HTTPS_PORT,
    CONTAINER_LABEL,
    CONTAINER_SIGNING_CERTIFICATE_PATH,
    CONTAINER_TLS_CERTIFICATE_PATH,
    containerManaged,
    DEFAULT_DOCKERFILE,
    DEFAULT_HTTP_PORT,
    defaultHostname,
    ImageBuild,
    serviceUrl,
    SETTINGS_FILE_PATH,
} from "./docker";
import { forwardedHeadersEnvironment } from "../proxy";
import { checkedHealthCheck } from "./healthCheck";
import { createLocalReadinessGate } from "../readiness";
import { ArgumentCheck, Check, checks, describe, isKnown } from "../validation";
import { Deployed, DeployInputs, forwardedHeadersFor, PlannedTarget } from "./target";

export const DEFAULT_REPLICAS = 2;
/** More tasks than this is almost certainly a typo: every task holds a database connection pool. */
export const MAX_REPLICAS = 100;
export const DEFAULT_ENDPOINT_MODE = "vip";
export const ENDPOINT_MODES = { vip: "vip", dnsrr: "dnsrr" } as const;
export const UPDATE_ORDERS = { startFirst: "start-first", stopFirst: "stop-first" } as const;
export const DEFAULT_UPDATE: Required<SwarmUpdate> = { parallelism: 1, delay: "0s", monitor: "15s", order: UPDATE_ORDERS.startFirst };
export const REDIS_PORT = 6379;
/** The official Redis image's working directory and volume, where Redis writes its data (docker-library/redis). */
export const REDIS_DATA_PATH = "/data";
/**
 * Redis writes every change to its append-only file (fsync every second) instead of only snapshotting now and then,
 * so a task that is killed keeps what it was given. The official image's entrypoint runs `redis-server` with these.
 */
export const REDIS_ARGS = ["--appendonly", "yes"];

export { ASPNETCORE_ENVIRONMENT, SETTINGS_FILE_PATH } from "./docker";
export { DEFAULT_HEALTH_CHECK } from "./healthCheck";

/** What the Swarm target sets in the tasks' environment and settings file besides the package's keys. */
export const SWARM_MANAGED: TargetManaged = containerManaged("swarm", "task");

/** Npgsql's and SqlClient's default `Maximum Pool Size`. */
export const DEFAULT_CONNECTION_POOL_SIZE = 100;
const POOL_SIZE_KEYS = ["maximumpoolsize", "maxpoolsize"];

/**
 * How often and how patiently the health check runs. Durations are written the way the Docker provider reads them
 * back from the Engine (Go's duration format shortened: "1m", not "60s"), or every run would show a change.
 */
export const HEALTH_CHECK_TIMING = { interval: "3s", timeout: "3s", startPeriod: "1m", retries: 3 } as const;

/** Swarm settings with defaults applied and plain values checked. */
export interface SwarmSettings {
    readonly replicas: pulumi.Input<number>;
    readonly image?: pulumi.Input<string>;
    readonly build?: ImageBuild;
    readonly httpPort: pulumi.Input<number>;
    readonly https?: ContainerHttpsSettings;
    readonly hostname?: pulumi.Input<string>;
    readonly endpointMode: pulumi.Input<string>;
    readonly serviceAlias: pulumi.Input<string>;
    readonly networks?: pulumi.Input<pulumi.Input<string>[]>;
    readonly constraints?: pulumi.Input<pulumi.Input<string>[]>;
    readonly resources?: {
        readonly limits?: { readonly nanoCpus?: pulumi.Input<number>; readonly memoryBytes?: pulumi.Input<number> };
        readonly reservation?: { readonly nanoCpus?: pulumi.Input<number>; readonly memoryBytes?: pulumi.Input<number> };
    };
    readonly update: Required<SwarmUpdate>;
    readonly rollback: Required<SwarmUpdate>;
    readonly redis?: {
        readonly image: pulumi.Input<string>;
        readonly volume: pulumi.Input<string>;
        readonly constraints?: pulumi.Input<pulumi.Input<string>[]>;
    };
    readonly healthCheck: pulumi.Input<pulumi.Input<string>[]>;
}

/** What the Swarm check needs to know from the rest of the arguments. */
export interface SwarmContext {
    readonly redisConnection?: pulumi.Input<string>;
    readonly connectionString: pulumi.Input<string>;
}

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * A duration the way the Docker provider writes it into its state when it reads a service back: Go's
 * `time.Duration.String`, with a trailing "0s" after minutes and "0m" after hours dropped (its `shortDur`). "90s"
 * becomes "1m30s", "60s" becomes "1m". Given any other way, the next run would show the field as changed.
 */
export function providerDuration(text: string): string {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    let rest = Math.round(parts.reduce((total, [, value, unit]) => total + Number(value) * DURATION_UNITS[unit], 0));
    if (rest === 0) {
        return "0s";
    }
    const fraction = (value: number, unit: number) => {
        const whole = Math.floor(value / unit);
        const part = value - whole * unit;
        return part === 0 ? String(whole) : `${whole}.${String(part).padStart(String(unit).length - 1, "0").replace(/0+$/, "")}`;
    };
    let go: string;
    if (rest < 1e3) {
        go = `${rest}ns`;
    } else if (rest < 1e6) {
        go = `${fraction(rest, 1e3)}µs`;
    } else if (rest < 1e9) {
        go = `${fraction(rest, 1e6)}ms`;
    } else {
        const hours = Math.floor(rest / 3600e9);
        rest -= hours * 3600e9;
        const minutes = Math.floor(rest / 60e9);
        rest -= minutes * 60e9;
        go = `${hours ? `${hours}h` : ""}${hours || minutes ? `${minutes}m` : ""}${fraction(rest, 1e9)}s`;
    }
    return go.replace(/m0s$/, "m").replace(/h0m$/, "h");
}
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const duration: Check<string> = value =>
    typeof value === "string" && GO_DURATION.test(value) ? undefined : `${describe(value)} is not a duration; write it like "10s", "1m30s" or "500ms"`;

const wholeNumber =
    (min: number, max: number, what: string): Check<number> =>
    value =>
        Number.isInteger(value) && value >= min && value <= max ? undefined : `${describe(value)} is out of range; use a whole number of ${what} from ${min} to ${max}`;

const positiveNumber =
    (what: string): Check<number> =>
    value =>
        typeof value === "number" && Number.isFinite(value) && value > 0 ? undefined : `${describe(value)} is not a positive number of ${what}`;

/**
 * The named volume the component's Redis keeps its data in, unique per project, stack and component so that two
 * stacks on one swarm never share it. Docker volume names allow letters, digits, "_", "." and "-".
 */
export function defaultRedisVolume(project: string, stack: string, componentName: string): string {
    const name = `${project}-${stack}-${componentName}-redis-data`.replace(/[^a-zA-Z0-9_.-]+/g, "-");
    return /^[a-zA-Z0-9]/.test(name) ? name : `v${name}`;
}

/** The redis connection of the component's own Redis service: its alias on the component's network. */
export function redisServiceConnection(serviceAlias: string): string {
    return `${serviceAlias}-redis:${REDIS_PORT}`;
}

/** The default service alias: the component name as a DNS label. */
export function defaultServiceAlias(componentName: string): string {
    return (
        componentName
            .toLowerCase()
            .replace(/[^a-z0-9-]+/g, "-")
            .replace(/^-+|-+$/g, "")
            .slice(0, 57)
            .replace(/-+$/, "") || "identity-service"
    );
}

/**
 * The connection pool size of one task: `Maximum Pool Size` (or `Max Pool Size`) of the connection string, else
 * the drivers' default of 100. Undefined when the connection string cannot be parsed (the service reports that).
 */
export function connectionPoolSize(connectionString: string): number | undefined {
    let parsed: Map<string, unknown>;
    try {
        parsed = parseConnectionString(connectionString) as unknown as Map<string, unknown>;
    } catch {
        return undefined;
    }
    for (const [key, value] of parsed) {
        if (POOL_SIZE_KEYS.includes(key.toLowerCase().replace(/[\s_]/g, ""))) {
            const size = Number(value);
            return Number.isInteger(size) && size > 0 ? size : undefined;
        }
    }
    return DEFAULT_CONNECTION_POOL_SIZE;
}

/**
 * What the database must allow: the most tasks that run at once (during a start-first update, `parallelism` new
 * tasks run next to the old ones) times each task's pool. Undefined when it fits, else the problem.
 */
export function databaseConnectionProblem(replicas: number, update: { parallelism: number; order: string }, poolSize: number, limit: number): string | undefined {
    const tasks = replicas + (update.order === UPDATE_ORDERS.startFirst ? update.parallelism : 0);
    const needed = tasks * poolSize;
    if (needed <= limit) {
        return undefined;
    }
    return (
        `${tasks} tasks at once (replicas ${replicas}` +
        (tasks > replicas ? ` plus ${update.parallelism} started first during an update` : "") +
        `) with a pool of ${poolSize} connections each can open ${needed} connections, more than the ${limit} allowed; ` +
        "lower `replicas`, or set `Maximum Pool Size` in the connection string so that they fit"
    );
}

function updateSettings(field: string, given: SwarmUpdate | undefined, check: ArgumentCheck): Required<SwarmUpdate> {
    return {
        parallelism: check.input(`${field}.parallelism`, given?.parallelism ?? DEFAULT_UPDATE.parallelism, wholeNumber(1, MAX_REPLICAS, "tasks")),
        delay: check.input(`${field}.delay`, given?.delay ?? DEFAULT_UPDATE.delay, duration),
        monitor: check.input(`${field}.monitor`, given?.monitor ?? DEFAULT_UPDATE.monitor, duration),
        order: check.input<string>(`${field}.order`, given?.order ?? DEFAULT_UPDATE.order, checks.oneOf<string>(UPDATE_ORDERS, "update order")),
    };
}

/** Checks the `swarm` block; every problem is recorded in `check`. */
export function swarmSettings(name: string, args: SwarmDeployment, context: SwarmContext, check: ArgumentCheck): SwarmSettings {
    if ((args.image === undefined) === (args.build === undefined)) {
        check.fail(
            "swarm",
            args.image === undefined
                ? "neither `image` nor `build` is set; give `image` (an image every node can pull) or `build` (the extracted IdentityService.zip folder, single-node swarms only)"
                : "both `image` and `build` are set; give only one of them",
        );
    }
    const replicas = check.input("swarm.replicas", args.replicas ?? DEFAULT_REPLICAS, wholeNumber(1, MAX_REPLICAS, "tasks"));
    if (args.redis !== undefined && context.redisConnection !== undefined) {
        check.fail("swarm.redis", "is set and so is `redisConnection`; give only one: your Redis in `redisConnection`, or `swarm.redis` to run one");
    }
    if (isKnown(replicas) && replicas > 1 && args.redis === undefined && context.redisConnection === undefined) {
        check.fail(
            "swarm.replicas",
            `${replicas} tasks must share the key they protect their data with; set \`redisConnection\` (your Redis) or \`swarm.redis\` (a Redis service of the component), or use 1 replica`,
        );
    }
    const update = updateSettings("swarm.update", args.update, check);
    const serviceAlias = check.input("swarm.serviceAlias", args.serviceAlias ?? defaultServiceAlias(name), value =>
        typeof value === "string" && DNS_LABEL.test(value) && value.length <= 57
            ? undefined
            : `${describe(value)} is not a DNS name for the service; use at most 57 lowercase letters, digits and "-", starting and ending with a letter or digit`,
    );
    const resources = args.resources;
    const cpu = (field: string, cores: pulumi.Input<number> | undefined) =>
        cores === undefined ? undefined : pulumi.output(check.input(field, cores, positiveNumber("cores"))).apply(value => Math.round(value * 1e9));
    const memory = (field: string, mb: pulumi.Input<number> | undefined) =>
        mb === undefined ? undefined : pulumi.output(check.input(field, mb, positiveNumber("MiB"))).apply(value => Math.round(value * 1024 * 1024));
    const httpPort = check.input("swarm.httpPort", args.httpPort ?? DEFAULT_HTTP_PORT, checks.port);
    const settings: SwarmSettings = {
        replicas,
        image: args.image && check.input("swarm.image", args.image, checks.nonEmpty),
        build: args.build && {
            context: check.input("swarm.build.context", args.build.context, checks.nonEmpty),
            dockerfile: args.build.dockerfile ?? DEFAULT_DOCKERFILE,
        },
        httpPort,
        https: containerHttpsSettings("swarm", args.https, httpPort, check),
        hostname: check.optional("swarm.hostname", args.hostname, checks.hostname),
        endpointMode: check.input<string>("swarm.endpointMode", args.endpointMode ?? DEFAULT_ENDPOINT_MODE, checks.oneOf<string>(ENDPOINT_MODES, "endpoint mode")),
        serviceAlias,
        networks: args.networks,
        constraints: args.constraints,
        resources: resources && {
            limits: { nanoCpus: cpu("swarm.resources.cpuLimit", resources.cpuLimit), memoryBytes: memory("swarm.resources.memoryLimitMb", resources.memoryLimitMb) },
            reservation: {
                nanoCpus: cpu("swarm.resources.cpuReservation", resources.cpuReservation),
                memoryBytes: memory("swarm.resources.memoryReservationMb", resources.memoryReservationMb),
            },
        },
        update,
        rollback: updateSettings("swarm.rollback", args.rollback, check),
        redis: args.redis && {
            image: check.input("swarm.redis.image", args.redis.image, checks.nonEmpty),
            volume: check.input("swarm.redis.volume", args.redis.volume ?? defaultRedisVolume(pulumi.getProject(), pulumi.getStack(), name), value =>
                typeof value === "string" && VOLUME_NAME.test(value)
                    ? undefined
                    : `${describe(value)} is not a Docker volume name; use letters, digits, "_", "." and "-", starting with a letter or digit`,
            ),
            constraints: args.redis.constraints,
        },
        healthCheck: checkedHealthCheck(check, "swarm.healthCheck", args.healthCheck, false),
    };
    if (args.maxDatabaseConnections === undefined) {
        return settings;
    }
    const limit = check.input("swarm.maxDatabaseConnections", args.maxDatabaseConnections, wholeNumber(1, 1_000_000, "connections"));
    const values: [pulumi.Input<number>, pulumi.Input<number>, pulumi.Input<string>, pulumi.Input<number>, pulumi.Input<string>] = [
        replicas,
        update.parallelism,
        update.order,
        limit,
        context.connectionString,
    ];
    if (values.every(value => isKnown<unknown>(value))) {
        const problem = poolProblem(replicas as number, update.parallelism as number, update.order as string, context.connectionString as string, limit as number);
        if (problem) {
            check.fail("swarm.maxDatabaseConnections", problem);
        }
        return settings;
    }
    // Known only at deployment: the same check then, before the component registers (see ArgumentCheck.resolved).
    check.input<[number, number, string, number, string]>("swarm.maxDatabaseConnections", pulumi.all(values), ([r, p, o, l, c]) =>
        poolProblem(r, p, o, c, l),
    );
    return settings;
}

function poolProblem(replicas: number, parallelism: number, order: string, connectionString: string, limit: number): string | undefined {
    const poolSize = connectionPoolSize(connectionString);
    return poolSize === undefined ? undefined : databaseConnectionProblem(replicas, { parallelism, order }, poolSize, limit);
}

/** The redis connection the configuration gets: the component's own Redis service, when it runs one. */
export function swarmRedisConnection(settings: SwarmSettings): pulumi.Input<string> | undefined {
    return settings.redis === undefined ? undefined : pulumi.output(settings.serviceAlias).apply(redisServiceConnection);
}

/**
 * The service's `taskSpec.forceUpdate` for a re-seed restart token: a counter Swarm compares like any other part of
 * the task spec, so a new value rolls every task (one at a time, as `update` says) while the service stays the same.
 * Derived from the token alone (48 bits of its SHA-256, never 0), so it changes exactly when the token does; no token
 * (nothing was deleted yet, or re-seeding is off) leaves it unset, and the provider then keeps whatever counter the
 * service has (it is Optional and Computed), so turning re-seeding on or off restarts nothing.
 */
export function restartCounter(restartToken: string | undefined): number | undefined {
    if (!restartToken) {
        return undefined;
    }
    const counter = Number.parseInt(crypto.createHash("sha256").update(restartToken).digest("hex").slice(0, 12), 16);
    return counter === 0 ? 1 : counter;
}

/** A short hash that changes whenever a task would be replaced: it re-runs the readiness gate. */
export function taskRevision(parts: readonly (string | number | undefined)[]): string {
    return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}

/** The update and rollback settings as the provider takes them, durations in its own form (see providerDuration). */
function updateConfig(update: Required<SwarmUpdate>, failureAction: string) {
    return {
        ...update,
        delay: pulumi.output(update.delay).apply(providerDuration),
        monitor: pulumi.output(update.monitor).apply(providerDuration),
        failureAction,
        maxFailureRatio: "0",
    };
}

export function planSwarm(settings: SwarmSettings): PlannedTarget {
    // The service's own network, created once: before the re-seed container that joins it, when there is one.
    let network: docker.Network | undefined;
    const ownNetwork = (name: string, parent: pulumi.Resource) =>
        (network ??= new docker.Network(`${name}-network`, { driver: "overlay", attachable: true, ...labelled(name) }, { parent }));
    return {
        facts: { signingCertificatePath: CONTAINER_SIGNING_CERTIFICATE_PATH, servedOverHttps: settings.https !== undefined },
        claims: host => swarmClaims(settings, host),
        reseedNetworks: (name, parent) => {
            const own = ownNetwork(name, parent);
            return { networks: pulumi.all([own.id, settings.networks ?? []]).apply(([id, extra]) => [id, ...extra]), dependsOn: [own] };
        },
        deploy: (name, inputs, parent, dependsOn) => deploySwarm(name, settings, inputs, parent, dependsOn, ownNetwork(name, parent)),
    };
}

/**
 * The published ports, on the same Docker host as the Docker target's ports: the routing mesh listens on them on every
 * node. Nothing is published in `dnsrr` mode.
 */
export function swarmClaims(settings: SwarmSettings, host: string): Claim[] {
    if (isKnown(settings.endpointMode) && settings.endpointMode !== ENDPOINT_MODES.vip) {
        return [];
    }
    return knownClaims(`docker:${host}`, host === "default" ? "on the default Docker host" : `on the Docker host of ${host}`, [
        ["swarm.httpPort", settings.httpPort, port => `host port ${port}`],
        ["swarm.https.port", settings.https?.port, port => `host port ${port}`],
    ]);
}

/**
 * The service's published ports in `vip` mode: HTTP, and HTTPS when it is served, each on the routing mesh's ingress.
 */
export function publishedPorts(httpPort: number, httpsPort: number | undefined): docker.types.input.ServiceEndpointSpecPort[] {
    const publish = (targetPort: number, publishedPort: number) => ({ targetPort, publishedPort, publishMode: "ingress", protocol: "tcp" });
    return httpsPort === undefined
        ? [publish(CONTAINER_HTTP_PORT, httpPort)]
        : [publish(CONTAINER_HTTP_PORT, httpPort), publish(CONTAINER_HTTPS_PORT, httpsPort)];
}

/**
 * Whether a replacement of the service (a change of `networks` or `serviceAlias`, which the Docker provider cannot
 * update in place) must remove the old service first. In `vip` mode, yes: Swarm refuses a second service publishing
 * the same port, so the provider's usual create-first replacement would fail. In `dnsrr` mode nothing is published
 * and the new service starts before the old one goes. When the mode is known only later, delete first.
 */
export function replacesDeleteFirst(endpointMode: pulumi.Input<string>): boolean {
    return !isKnown(endpointMode) || endpointMode === ENDPOINT_MODES.vip;
}

function labelled(name: string): { labels: docker.types.input.ServiceLabel[] } {
    return { labels: [{ label: CONTAINER_LABEL, value: name }] };
}

function swarmImage(name: string, settings: SwarmSettings, creatioVersion: string, parent: pulumi.Resource): pulumi.Input<string> {
    if (!settings.build) {
        // Every node pulls it itself; the provider pins a tag to its digest when it creates the service, not on updates.
        return settings.image!;
    }
    const built = createBuiltImage(name, settings.build, creatioVersion, { parent });
    // The local image id: a tag would not change when the image does, and a digest needs a registry.
    return built.repoDigest;
}

function deploySwarm(
    name: string,
    settings: SwarmSettings,
    inputs: DeployInputs,
    parent: pulumi.Resource,
    dependsOn: pulumi.Resource[],
    network: docker.Network,
): Deployed {
    const https = settings.https;
    // The Kestrel certificate's password goes into the settings file with the rest of the configuration, never into
    // the service's environment, where `docker service inspect` would show it.
    const settingsFile = pulumi
        .all([inputs.configuration, https?.certificate.password])
        .apply(([configuration, password]) => Buffer.from(renderSettingsFile(containerSettings(configuration, password))).toString("base64"));
    const settingsSecret = new docker.Secret(`${name}-settings`, { data: pulumi.secret(settingsFile), ...labelled(name) }, { parent });
    const certificateSecret = new docker.Secret(`${name}-signing-pfx`, { data: pulumi.secret(inputs.signingCertificate), ...labelled(name) }, { parent });
    const tlsSecret = https && new docker.Secret(`${name}-tls-pfx`, { data: pulumi.secret(https.certificate.pfxBase64), ...labelled(name) }, { parent });

    const redis = settings.redis
        ? new docker.Service(
              `${name}-redis`,
              {
                  taskSpec: {
                      containerSpec: {
                          image: settings.redis.image,
                          args: REDIS_ARGS,
                          // A named volume on the node that runs the task: a restarted task finds its data again.
                          mounts: [{ type: "volume", source: settings.redis.volume, target: REDIS_DATA_PATH }],
                          ...labelled(name),
                      },
                      networksAdvanceds: [{ id: network.id, aliases: [pulumi.output(settings.serviceAlias).apply(alias => `${alias}-redis`)] }],
                      placement: settings.redis.constraints ? { constraints: settings.redis.constraints } : undefined,
                      restartPolicy: { condition: "any", delay: "5s", window: "30s" },
                  },
                  mode: { replicated: { replicas: 1 } },
                  // One task: its DNS answer is its own address, with or without a routing mesh.
                  endpointSpec: { mode: ENDPOINT_MODES.dnsrr },
                  convergeConfig: { delay: "2s", timeout: "5m" },
                  ...labelled(name),
              },
              { parent },
          )
        : undefined;

    const image = swarmImage(name, settings, inputs.profile.text, parent);
    const networks = pulumi
        .all([network.id, settings.serviceAlias, settings.networks ?? []])
        .apply(([own, alias, extra]) => [own, ...extra].map(id => ({ id, aliases: [alias] })));
    const published = pulumi.output(settings.endpointMode).apply(mode => mode === ENDPOINT_MODES.vip);
    const url = pulumi
        .all([settings.hostname, inputs.daemon, settings.httpPort, https?.port])
        .apply(([hostname, daemon, port, httpsPort]) => serviceUrl(hostname ?? defaultHostname(daemon), port, httpsPort));
    const forwardedHeaders = forwardedHeadersFor(inputs, url);

    const service = new docker.Service(
        `${name}-service`,
        {
            taskSpec: {
                containerSpec: {
                    image,
                    // Only what is not secret: the configuration comes from the mounted appsettings file.
                    // With HTTPS, Kestrel serves both ports: the health check keeps probing HTTP inside the task.
                    env: pulumi.all([forwardedHeaders, inputs.environment, https?.port]).apply(([on, environment, httpsPort]) =>
                        mergeEnvironment(containerEnvironment(httpsPort === undefined ? undefined : { port: httpsPort }, forwardedHeadersEnvironment(on)), environment),
                    ),
                    secrets: [
                        { secretId: settingsSecret.id, secretName: settingsSecret.name, fileName: SETTINGS_FILE_PATH, fileMode: 0o444 },
                        { secretId: certificateSecret.id, secretName: certificateSecret.name, fileName: CONTAINER_SIGNING_CERTIFICATE_PATH, fileMode: 0o444 },
                        ...(tlsSecret
                            ? [{ secretId: tlsSecret.id, secretName: tlsSecret.name, fileName: CONTAINER_TLS_CERTIFICATE_PATH, fileMode: 0o444 }]
                            : []),
                    ],
                    healthcheck: { tests: settings.healthCheck, ...HEALTH_CHECK_TIMING },
                    // Constant: the provider replaces the service when its containers' labels change.
                    ...labelled(name),
                },
                // A re-seed restarts the tasks in place (see restartCounter).
                forceUpdate: inputs.restartToken?.apply(restartCounter),
                networksAdvanceds: networks,
                placement: settings.constraints ? { constraints: settings.constraints } : undefined,
                resources: settings.resources,
                // A task that loses the race to create the service's tables on a first start is started again.
                restartPolicy: { condition: "any", delay: "5s", window: "30s" },
            },
            mode: { replicated: { replicas: settings.replicas } },
            updateConfig: updateConfig(settings.update, "rollback"),
            rollbackConfig: updateConfig(settings.rollback, "pause"),
            endpointSpec: pulumi
                .all([published, settings.httpPort, https?.port])
                .apply(([vip, httpPort, httpsPort]) =>
                    vip ? { mode: ENDPOINT_MODES.vip, ports: publishedPorts(httpPort, httpsPort) } : { mode: ENDPOINT_MODES.dnsrr },
                ),
            // Create and update return only once every task runs (and is healthy) or the update rolled back.
            convergeConfig: { delay: "2s", timeout: "10m" },
            ...labelled(name),
        },
        {
            parent,
            dependsOn: [...dependsOn, ...(redis ? [redis] : [])],
            deleteBeforeReplace: replacesDeleteFirst(settings.endpointMode),
        },
    );

    // The forwarded headers switch, the user's environment and the HTTPS certificate roll the tasks too; each is a part
    // only when there is one, so that a service without them keeps the revision it had.
    const optionalParts = pulumi
        .all([forwardedHeaders, inputs.environment, tlsSecret?.id])
        .apply(([forwarded, environment, tlsId]) => [
            ...(forwarded ? ["forwarded-headers"] : []),
            ...(Object.keys(environment).length > 0 ? [JSON.stringify(environment)] : []),
            ...(tlsId ? [`tls:${tlsId}`] : []),
        ]);
    const revision = pulumi
        .all([service.id, image, settingsSecret.id, certificateSecret.id, settings.replicas, inputs.restartToken ?? "", optionalParts])
        .apply(([serviceId, imageId, settingsId, certificateId, replicas, restartToken, optional]) =>
            taskRevision([serviceId, imageId, settingsId, certificateId, replicas, restartToken, ...optional]),
        );
    const gate = inputs.readiness
        ? createLocalReadinessGate(
              name,
              {
                  url,
                  publicUrl: inputs.publicUrl,
                  clientId: inputs.readiness.clientId,
                  clientSecret: inputs.readiness.clientSecret,
                  revision,
              },
              inputs.readiness.settings,
              { parent, dependsOn: [service] },
          )
        : undefined;
    return { url, gate, service };
}
