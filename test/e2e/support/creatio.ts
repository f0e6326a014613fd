// The Creatio test double in a container on a user-defined Docker network, so that its OAuth health check and its
// default-resource registration reach the Identity Service through the URL Creatio was given, from where Creatio
// stands (a URL only the test machine can reach fails there, as it would for a real Creatio). For unit tests,
// `startCreatio` in test/fixtures/creatio/creatio.js runs the same program in-process.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CreatioEvent, CreatioRuntime, HealthStatus, TokenRequestRecord } from "../../fixtures/creatio/creatio";
import type { TokenResponderRequest } from "../../fixtures/creatio/token-responder";
import { docker } from "./executor";

const FIXTURE_DIR = path.join(__dirname, "..", "..", "fixtures", "creatio");
const INFRA_DIR = path.join(__dirname, "..", "infra");
/** The label stop.sh removes containers by (test/e2e/infra/common.sh, E2E_LABEL). */
export const E2E_LABEL = "creatio-identity-service-e2e";
const IMAGE_REPOSITORY = `${E2E_LABEL}/creatio-stand-in`;
/** The node base image build-base-image.sh makes (its IMAGE default). */
const BASE_IMAGE = `${E2E_LABEL}/node-base:local`;
/** The port the program listens on inside its container (the Dockerfile's ENTRYPOINT). */
const CONTAINER_PORT = 80;

/**
 * Builds the image of the double (test/fixtures/creatio/Dockerfile) on the locally built node base image, tagged by
 * the hash of what goes into it, so that a second build is a no-op; answers the tag.
 */
export async function buildCreatioImage(): Promise<string> {
    // The base image (node, no registry), as the deployment suites build it.
    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    const hash = crypto.createHash("sha256");
    for (const file of ["Dockerfile", ".dockerignore", "creatio.js"]) hash.update(fs.readFileSync(path.join(FIXTURE_DIR, file)));
    const tag = `${IMAGE_REPOSITORY}:${hash.digest("hex").slice(0, 16)}`;
    const present = await docker(["image", "inspect", "--format", "{{.Id}}", tag], { allowFailure: true });
    if (present.code !== 0) {
        await docker(["build", "-q", "--label", `${E2E_LABEL}=1`, "-t", tag, "-f", path.join(FIXTURE_DIR, "Dockerfile"), FIXTURE_DIR]);
    }
    return tag;
}

/** A user-defined bridge network made for a test, with a unique name. */
export interface DockerNetwork {
    readonly name: string;
    remove(): Promise<void>;
}

export async function createDockerNetwork(prefix = "cis-creatio"): Promise<DockerNetwork> {
    const name = `${prefix}-${crypto.randomBytes(4).toString("hex")}`;
    await docker(["network", "create", "--driver", "bridge", "--label", `${E2E_LABEL}=1`, name]);
    return { name, remove: () => docker(["network", "rm", name], { allowFailure: true }).then(() => undefined) };
}

export interface CreatioContainerOptions {
    /** The user-defined network the container joins (its only network). */
    network: string;
    /** Its name on that network (default "creatio"). */
    alias?: string;
    runtime: CreatioRuntime;
    version: string;
    /** Users who can log in: {name: password}; handed over in a file, never on a command line or in the environment. */
    users: Record<string, string>;
    oauthEnabledInConfig?: boolean;
    cacheClearFails?: boolean;
    featureNameEncoding?: "raw" | "base64";
    healthCheckReportsDefaultResource?: boolean;
    maintenanceIntervalMs?: number;
    identityServiceTimeoutMs?: number;
    startingRequests?: number;
    /**
     * A PEM certificate authority the container trusts besides the system's, as an administrator adds one to the trust
     * store of Creatio's machine (which .NET reads): Node reads it from NODE_EXTRA_CA_CERTS.
     */
    trustedCaCertificate?: string;
}

export interface CreatioContainer {
    readonly name: string;
    /** The URL the test machine uses: the container's port published on 127.0.0.1 only. */
    readonly url: string;
    /** The URL other containers on the network use. */
    readonly urlOnNetwork: string;
    /** Everything the program printed so far, one event per line. */
    events(): Promise<CreatioEvent[]>;
    /** The health checks it answered (its status bodies). */
    healthChecks(): Promise<HealthStatus[]>;
    /** The token requests it made to the Identity Service, with their scopes and outcomes. */
    tokenRequests(): Promise<TokenRequestRecord[]>;
    /** Runs the OAuth maintenance process once (signal SIGUSR2) and answers that run's event. */
    runOAuthMaintenance(): Promise<CreatioEvent>;
    stop(): Promise<void>;
}

const OPTION_FLAGS: Array<[keyof CreatioContainerOptions, string]> = [
    ["runtime", "--runtime"],
    ["version", "--version"],
    ["oauthEnabledInConfig", "--oauth-enabled-in-config"],
    ["cacheClearFails", "--cache-clear-fails"],
    ["featureNameEncoding", "--feature-name-encoding"],
    ["healthCheckReportsDefaultResource", "--health-check-reports-default-resource"],
    ["maintenanceIntervalMs", "--maintenance-interval-ms"],
    ["identityServiceTimeoutMs", "--identity-service-timeout-ms"],
    ["startingRequests", "--starting-requests"],
];

/** An event's fields without its kind. */
function payloadOf<T>(event: CreatioEvent): T {
    return Object.fromEntries(Object.entries(event).filter(([key]) => key !== "event")) as T;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise(resolve => setTimeout(resolve, 200));
    }
}

/** Starts a container of the double on `options.network`, its port published on 127.0.0.1 only. */
export async function startCreatioContainer(options: CreatioContainerOptions): Promise<CreatioContainer> {
    const image = await buildCreatioImage();
    const name = `cis-creatio-${crypto.randomBytes(4).toString("hex")}`;
    const alias = options.alias ?? "creatio";
    const args: string[] = [];
    for (const [key, flag] of OPTION_FLAGS) {
        const value = options[key];
        if (value !== undefined) args.push(flag, String(value));
    }
    const usersFile = "/tmp/creatio-users.json";
    const caFile = "/tmp/trusted-ca.pem";
    await docker([
        "create", "--name", name, "--label", `${E2E_LABEL}=1`,
        "--network", options.network, "--network-alias", alias,
        "--publish", `127.0.0.1::${CONTAINER_PORT}`,
        ...(options.trustedCaCertificate === undefined ? [] : ["--env", `NODE_EXTRA_CA_CERTS=${caFile}`]),
        image, ...args, "--users-file", usersFile,
    ]);
    const stop = () => docker(["rm", "-f", name], { allowFailure: true }).then(() => undefined);
    try {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-creatio-users-"));
        try {
            const file = path.join(dir, "users.json");
            fs.writeFileSync(file, JSON.stringify(options.users), { mode: 0o600 });
            await docker(["cp", file, `${name}:${usersFile}`]);
            if (options.trustedCaCertificate !== undefined) {
                const ca = path.join(dir, "trusted-ca.pem");
                fs.writeFileSync(ca, options.trustedCaCertificate);
                await docker(["cp", ca, `${name}:${caFile}`]);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        await docker(["start", name]);
        const events = async (): Promise<CreatioEvent[]> => {
            const logs = await docker(["logs", name], { allowFailure: true });
            return logs.stdout.split("\n").filter(line => line.startsWith("{")).map(line => JSON.parse(line) as CreatioEvent);
        };
        await waitFor(`${name} to listen`, async () => {
            const state = await docker(["inspect", "--format", "{{.State.Running}}", name], { allowFailure: true });
            if (state.stdout.trim() === "false") {
                const logs = await docker(["logs", name], { allowFailure: true });
                throw new Error(`${name} stopped: ${(logs.stderr || logs.stdout).trim().split("\n").slice(-5).join("\n")}`);
            }
            return (await events()).find(e => e.event === "listening");
        });
        const published = (await docker(["port", name, `${CONTAINER_PORT}/tcp`])).stdout.trim().split("\n")[0];
        const match = /^127\.0\.0\.1:(\d+)$/.exec(published);
        if (!match) throw new Error(`${name}: port ${CONTAINER_PORT} is not published on 127.0.0.1 (${published})`);
        return {
            name,
            url: `http://127.0.0.1:${match[1]}`,
            urlOnNetwork: `http://${alias}:${CONTAINER_PORT}`,
            events,
            healthChecks: async () => (await events()).filter(e => e.event === "healthCheck").map(e => payloadOf<HealthStatus>(e)),
            tokenRequests: async () => (await events()).filter(e => e.event === "tokenRequest").map(e => payloadOf<TokenRequestRecord>(e)),
            runOAuthMaintenance: async () => {
                const before = (await events()).filter(e => e.event === "maintenanceRun").length;
                await docker(["kill", "--signal", "SIGUSR2", name]);
                return waitFor(`${name} to run the OAuth maintenance process`, async () => (await events()).filter(e => e.event === "maintenanceRun")[before]);
            },
            stop,
        };
    } catch (err) {
        await stop();
        throw err;
    }
}

/** A running container of token-responder.js (fixed Identity Service answers, for the double's own tests). */
export interface TokenResponderContainer {
    readonly name: string;
    /** The URL the test machine uses: the port published on 127.0.0.1 only. */
    readonly url: string;
    /** The requests it answered. */
    requests(): Promise<TokenResponderRequest[]>;
    stop(): Promise<void>;
}

/** Starts token-responder.js with `config` on the node base image, on `network` as `alias`. */
export async function startTokenResponderContainer(network: string, alias: string, config: object): Promise<TokenResponderContainer> {
    await buildCreatioImage();
    const name = `cis-token-responder-${crypto.randomBytes(4).toString("hex")}`;
    await docker([
        "create", "--name", name, "--label", `${E2E_LABEL}=1`, "--network", network, "--network-alias", alias,
        "--publish", `127.0.0.1::${CONTAINER_PORT}`, BASE_IMAGE,
        "/usr/bin/node", "/tmp/token-responder.js", "--config", "/tmp/token-responder.json", "--port", String(CONTAINER_PORT),
    ]);
    const stop = () => docker(["rm", "-f", name], { allowFailure: true }).then(() => undefined);
    try {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-token-responder-"));
        try {
            fs.writeFileSync(path.join(dir, "token-responder.json"), JSON.stringify(config), { mode: 0o600 });
            await docker(["cp", path.join(dir, "token-responder.json"), `${name}:/tmp/token-responder.json`]);
            await docker(["cp", path.join(FIXTURE_DIR, "token-responder.js"), `${name}:/tmp/token-responder.js`]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        await docker(["start", name]);
        const events = async (): Promise<CreatioEvent[]> =>
            (await docker(["logs", name], { allowFailure: true })).stdout.split("\n").filter(line => line.startsWith("{")).map(line => JSON.parse(line) as CreatioEvent);
        await waitFor(`${name} to listen`, async () => (await events()).find(e => e.event === "listening"));
        const published = (await docker(["port", name, `${CONTAINER_PORT}/tcp`])).stdout.trim().split("\n")[0];
        return {
            name,
            url: `http://${published}`,
            requests: async () => (await events()).filter(e => e.event === "request").map(e => payloadOf<TokenResponderRequest>(e)),
            stop,
        };
    } catch (err) {
        await stop();
        throw err;
    }
}
