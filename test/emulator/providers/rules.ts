// The provider rules both test doubles apply: the engine emulator's providers (this folder) and the e2e executor
// (test/e2e/support/executor.ts) import them from here, so the two can never disagree. Each rule works on plain
// values (secrets unwrapped) and names the real source it follows, at the pinned versions:
// - terraform-provider-random at pulumi-random v4.21.1's pin (hashicorp/terraform-provider-random @ f8d869dc98d9),
// - pulumi-command v1.2.1 (on pulumi-go-provider v1.3.0),
// - kreuzwerker/terraform-provider-docker v4.5.0 (the upstream of pulumi-docker 5.x) and pulumi-docker's own
//   provider/ for docker.Image.
// The conformance table of test/emulator/README.md lists each rule with its source line and the test that pins it
// (test/emulator/rules.doubles.test.ts).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import dockerignore from "@balena/dockerignore";

type Plain = Record<string, unknown>;

/** JSON with sorted object keys: the equality of two plain values, whatever their key order. */
export function stableJson(value: unknown): string {
    if (value === undefined) return "undefined";
    if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        return `{${Object.keys(value as Plain).sort().map(key => `${JSON.stringify(key)}:${stableJson((value as Plain)[key])}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

/** Two values as Terraform sets: the same elements, whatever their order and repetitions. */
export function sameSet(a: unknown, b: unknown): boolean {
    const elements = (value: unknown) =>
        new Set((Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]).map(stableJson));
    const left = elements(a);
    const right = elements(b);
    return left.size === right.size && [...left].every(element => right.has(element));
}

// ---------------------------------------------------------------------------------------------------------------
// random: RandomString and RandomPassword

/**
 * `keepers`: RequiresReplaceIfValuesNotNull (internal/planmodifiers/map/mapplanmodifiers.go:18-99, used by
 * internal/provider/resource_string.go:368-375). Nothing to do on create; equal maps keep the value; from a null state
 * only a config with a non-null value replaces; otherwise a config key whose value is not null and differs from the
 * state's, or a state key missing from the config (keepers removed entirely included), replaces.
 */
export function keepersRequireReplace(state: Plain | null | undefined, config: Plain | null | undefined): boolean {
    const stateNull = state === null || state === undefined;
    const configNull = config === null || config === undefined;
    if (stateNull && configNull) return false;
    if (stableJson(state ?? null) === stableJson(config ?? null)) return false;
    if (stateNull) return Object.values(config ?? {}).some(value => value !== null && value !== undefined);
    const stateMap = state as Plain;
    const configMap = (config ?? {}) as Plain;
    for (const [key, value] of Object.entries(configMap)) {
        if (!(key in stateMap) && (value === null || value === undefined)) continue;
        if (stableJson(value) === stableJson(stateMap[key])) continue;
        return true;
    }
    return Object.keys(stateMap).some(key => !(key in configMap));
}

/**
 * Which changed arguments of a random value replace it: every argument is RequiresReplace
 * (resource_string.go:376-512, resource_password.go the same), `keepers` as `keepersRequireReplace` says.
 */
export function randomReplaceKeys(changed: readonly string[], oldInputs: Plain, newInputs: Plain): string[] {
    return changed.filter(key => key !== "keepers" || keepersRequireReplace(oldInputs.keepers as Plain, newInputs.keepers as Plain));
}

// ---------------------------------------------------------------------------------------------------------------
// command: local.Command

/**
 * The id of a created command: `resource.NewUniqueHex(name, 8, 0)`, the resource name and 8 random hex characters,
 * made before the preview check, so a preview's id is known too (provider/pkg/provider/local/commandController.go:42-50).
 */
export function commandId(name: string): string {
    return `${name}${crypto.randomBytes(4).toString("hex")}`;
}

/** `triggers` replaces (common/inputs.go: `replaceOnChanges`; the SDK registers every Command with ["triggers[*]"]); any other change updates. */
export function commandReplaceKeys(changed: readonly string[]): string[] {
    return changed.filter(key => key === "triggers");
}

// ---------------------------------------------------------------------------------------------------------------
// docker: Container, RemoteImage, Image

/**
 * The Container arguments without ForceNew (internal/provider/resource_docker_container.go at v4.5.0: rm 57, start 72,
 * wait 79, wait_timeout 86, attach 93, logs 100, must_run 122, restart 230, max_retry_count 238, remove_volumes 256,
 * tmpfs 482, device_read_bps 693, device_read_iops 713, device_write_bps 733, device_write_iops 753,
 * destroy_grace_seconds 827, memory 842, memory_reservation 848, memory_swap 856, cpu_shares 872, cpu_set 879,
 * healthcheck 1045, container_read_refresh_timeout_milliseconds 1098, init 1126, cpu_period 1164, cpu_quota 1170):
 * a change of these is an update; a change of any other argument replaces the container.
 */
export const CONTAINER_IN_PLACE: ReadonlySet<string> = new Set([
    "rm", "start", "wait", "waitTimeout", "attach", "logs", "mustRun", "restart", "maxRetryCount", "removeVolumes", "tmpfs",
    "deviceReadBps", "deviceReadIops", "deviceWriteBps", "deviceWriteIops", "destroyGraceSeconds", "memory",
    "memoryReservation", "memorySwap", "cpuShares", "cpuSet", "healthcheck", "containerReadRefreshTimeoutMilliseconds",
    "init", "cpuPeriod", "cpuQuota",
]);

/** Container arguments that are Optional and Computed: Read fills them in when the config leaves them out. */
export const CONTAINER_COMPUTED: ReadonlySet<string> = new Set(["healthcheck"]);

/** Container arguments that are TypeSet (order-insensitive, duplicates collapsed): env 590, labels 833, networks_advanced 909, upload 987. */
export const CONTAINER_SETS: ReadonlySet<string> = new Set(["envs", "labels", "uploads", "networksAdvanced"]);

/** The provider declares delete-before-replace for docker_container (pulumi-docker provider/resources.go:114). */
export const CONTAINER_DELETE_BEFORE_REPLACE = true;

export function containerReplaceKeys(changed: readonly string[]): string[] {
    return changed.filter(key => !CONTAINER_IN_PLACE.has(key));
}

/**
 * The changed Container arguments as the bridge sees them: the state Read left (`state`) against the new inputs,
 * sets compared as sets. An argument the state does not hold is compared with the old inputs.
 */
export function containerChangedKeys(oldInputs: Plain, state: Plain, newInputs: Plain): string[] {
    const keys = new Set([...Object.keys(oldInputs), ...Object.keys(newInputs)]);
    return [...keys].filter(key => {
        // Optional and Computed (healthcheck, resource_docker_container.go:1045-1050): without a value in the config, the
        // value Read found (the image's own HEALTHCHECK) is no change.
        if (CONTAINER_COMPUTED.has(key) && newInputs[key] === undefined) return false;
        const before = key in state ? state[key] : oldInputs[key];
        return CONTAINER_SETS.has(key) ? !sameSet(before, newInputs[key]) : stableJson(before ?? null) !== stableJson(newInputs[key] ?? null);
    }).sort();
}

/** RemoteImage (resource_docker_image.go): keep_locally (55) and force_remove (70) update; name (36) and the rest replace. */
export function remoteImageReplaceKeys(changed: readonly string[]): string[] {
    return changed.filter(key => key !== "keepLocally" && key !== "forceRemove");
}

/** docker.Image (pulumi-docker provider/provider.go `Diff`, 271-328): every change is an update, a rebuild. */
export function imageReplaceKeys(): string[] {
    return [];
}

/** What `docker inspect` answers for a container's health check (durations in nanoseconds). */
export interface InspectedHealthcheck {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
}

/** What `docker inspect` answers for a container, as far as Read uses it. */
export interface InspectedContainer {
    Id: string;
    Name: string;
    Image: string;
    Config: { Image: string; Healthcheck?: InspectedHealthcheck | null };
    State: { Running: boolean; ExitCode: number };
    HostConfig: { RestartPolicy?: { Name?: string } };
    NetworkSettings?: { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null };
}

/**
 * `resourceDockerContainerRead` (resource_docker_container_funcs.go): ports read back, by `flattenContainerPorts`, only
 * while the container runs or must_run is true (800-806); a stopped container gets its exit code and, when must_run
 * was true, must_run = false (815-824); the name without its "/" (828); the image as the container's image id when it
 * was given as "sha256:...", else the configured name (840-845); restart (857).
 */
export function containerReadBack(container: InspectedContainer, state: Plain): Plain {
    const read: Plain = { ...state, name: container.Name.replace(/^\/+/, "") };
    const running = container.State.Running;
    if ((running || state.mustRun !== false) && Array.isArray(state.ports) && state.ports.length > 0) {
        read.ports = flattenContainerPorts(container.NetworkSettings?.Ports ?? {});
    }
    if (!running) {
        read.exitCode = container.State.ExitCode;
        if (state.mustRun !== false) read.mustRun = false;
    }
    read.image = String(state.image ?? "").startsWith("sha256:") ? container.Image : container.Config.Image;
    read.restart = container.HostConfig.RestartPolicy?.Name || "no";
    const health = container.Config.Healthcheck;
    if (health) {
        // funcs.go:960-969: every duration as Go's time.Duration.String, the test as Docker keeps it.
        read.healthcheck = {
            tests: health.Test ?? [],
            interval: goDuration(health.Interval ?? 0),
            timeout: goDuration(health.Timeout ?? 0),
            startPeriod: goDuration(health.StartPeriod ?? 0),
            startInterval: goDuration(health.StartInterval ?? 0),
            retries: health.Retries ?? 0,
        };
    }
    return read;
}

const NANOSECONDS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's `time.ParseDuration` for the forms a health check takes ("3s", "1m0s", "1.5s", "500ms"), in nanoseconds. */
export function parseGoDuration(text: string): number {
    if (text !== "0" && !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new Error(`time: invalid duration "${text}"`);
    return Math.round([...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)].reduce((total, [, value, unit]) => total + Number(value) * NANOSECONDS[unit], 0));
}

/** Go's `time.Duration.String` (time/time.go): "0s", "500ms", "3s", "1m0s", "1h0m0s", "1.5s". */
export function goDuration(nanoseconds: number): string {
    if (nanoseconds === 0) return "0s";
    const fraction = (value: number, unit: number) => {
        const whole = Math.floor(value / unit);
        const rest = value - whole * unit;
        return rest === 0 ? String(whole) : `${whole}.${String(rest).padStart(String(unit).length - 1, "0").replace(/0+$/, "")}`;
    };
    if (nanoseconds < 1e3) return `${nanoseconds}ns`;
    if (nanoseconds < 1e6) return `${fraction(nanoseconds, 1e3)}µs`;
    if (nanoseconds < 1e9) return `${fraction(nanoseconds, 1e6)}ms`;
    const hours = Math.floor(nanoseconds / 3600e9);
    const minutes = Math.floor((nanoseconds - hours * 3600e9) / 60e9);
    const seconds = nanoseconds - hours * 3600e9 - minutes * 60e9;
    return `${hours ? `${hours}h` : ""}${hours || minutes ? `${minutes}m` : ""}${fraction(seconds, 1e9)}s`;
}

/** The health check block's schema defaults (resource_docker_container.go:1062-1090: durations "0s", retries 0). */
const HEALTHCHECK_DEFAULTS = { interval: "0s", timeout: "0s", startPeriod: "0s", startInterval: "0s", retries: 0 };

/**
 * The Engine API request the provider's Create sends (`ContainerCreate`, resourceDockerContainerCreate, funcs.go:43-460):
 * Config (Image, Env, Labels, ExposedPorts, Healthcheck with durations parsed by time.ParseDuration, 139-163) and
 * HostConfig (PortBindings from portSetToDockerPorts, structures.go:228-258; RestartPolicy, 253). The doubles attach the
 * first of `networksAdvanced` here and connect the rest afterwards, as they always did.
 */
export function containerCreateRequest(inputs: Plain): { name: string; body: Plain } {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const port of (inputs.ports as Plain[] | undefined) ?? []) {
        const key = `${port.internal}/${port.protocol ?? "tcp"}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: String(port.ip ?? ""), HostPort: port.external === undefined ? "" : String(port.external) });
    }
    const labels = Object.fromEntries(((inputs.labels as Plain[] | undefined) ?? []).map(label => [String(label.label), String(label.value)]));
    const health = inputs.healthcheck as Plain | undefined;
    const networks = (inputs.networksAdvanced as Plain[] | undefined) ?? [];
    return {
        name: String(inputs.name),
        body: {
            Image: inputs.image,
            Env: ((inputs.envs as unknown[] | undefined) ?? []).map(String),
            Labels: labels,
            ExposedPorts: exposed,
            ...(health
                ? {
                      Healthcheck: {
                          Test: health.tests ?? [],
                          Interval: parseGoDuration(String(health.interval ?? "0s")),
                          Timeout: parseGoDuration(String(health.timeout ?? "0s")),
                          StartPeriod: parseGoDuration(String(health.startPeriod ?? "0s")),
                          StartInterval: parseGoDuration(String(health.startInterval ?? "0s")),
                          Retries: Number(health.retries ?? 0),
                      },
                  }
                : {}),
            HostConfig: {
                PortBindings: bindings,
                RestartPolicy: { Name: String(inputs.restart ?? "no") },
                ...(networks[0] ? { NetworkMode: String(networks[0].name) } : {}),
            },
            ...(networks[0]
                ? { NetworkingConfig: { EndpointsConfig: { [String(networks[0].name)]: { Aliases: (networks[0].aliases as string[] | undefined) ?? [] } } } }
                : {}),
        },
    };
}

/** resource_docker_container_structures.go:35-59 `flattenContainerPorts`: by port and protocol, one entry per binding. */
export function flattenContainerPorts(ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>): Plain[] {
    const keys = Object.keys(ports).sort((a, b) => {
        const [portA, protoA] = a.split("/");
        const [portB, protoB] = b.split("/");
        return Number(portA) - Number(portB) || (protoA < protoB ? -1 : protoA > protoB ? 1 : 0);
    });
    return keys.flatMap(key => {
        const [internal, protocol] = key.split("/");
        return (ports[key] ?? []).map(binding => ({
            internal: Number(internal),
            external: Number(binding.HostPort) || 0,
            ip: binding.HostIp,
            protocol,
        }));
    });
}

/**
 * Container Check: the schema defaults the bridge fills in (restart "no" 230, must_run true 122, a port's ip "0.0.0.0"
 * and protocol "tcp" 487-535, a health check's durations "0s" and retries 0, 1062-1090).
 */
export function containerDefaults(inputs: Plain): Plain {
    const ports = inputs.ports as Plain[] | undefined;
    const health = inputs.healthcheck as Plain | undefined;
    return {
        ...inputs,
        restart: inputs.restart ?? "no",
        mustRun: inputs.mustRun ?? true,
        ...(ports ? { ports: ports.map(port => ({ ...port, ip: port.ip || "0.0.0.0", protocol: port.protocol ?? "tcp" })) } : {}),
        ...(health ? { healthcheck: { ...HEALTHCHECK_DEFAULTS, ...health } } : {}),
    };
}

/**
 * The build context digest as pulumi-docker computes it (provider/provider.go:606-649 `hashContext` and
 * `contextHashAccumulator.hashPath`, 656-684 `getIgnorePatterns`): the Dockerfile first, under the name "Dockerfile"
 * and mode 0, then every regular file and symlink of the context in walk order (directories themselves are not
 * hashed), each as its "/"-separated relative name, its Go file mode string, the SHA-256 of its content (of its
 * resolved target path for a symlink) and a NUL. Ignore patterns come from `<Dockerfile>.dockerignore` when it
 * exists, else from `<context>/.dockerignore`, with Docker's own matching rules (@balena/dockerignore).
 */
export function hashContext(context: string, dockerfile: string): string {
    const patterns = [`${dockerfile}.dockerignore`, path.join(context, ".dockerignore")]
        .filter(candidate => fs.existsSync(candidate))
        .map(candidate => fs.readFileSync(candidate, "utf8"))[0];
    const ignored = dockerignore().add(patterns === undefined ? [] : patterns.split(/\r?\n/));
    const accumulator: Buffer[] = [];
    const hashPath = (file: string, name: string, mode: string, symlink: boolean) => {
        const content = symlink ? Buffer.from(fs.realpathSync(file).split(path.sep).join("/")) : fs.readFileSync(file);
        accumulator.push(Buffer.from(path.posix.normalize(name.split(path.sep).join("/"))), Buffer.from(mode));
        accumulator.push(crypto.createHash("sha256").update(content).digest(), Buffer.from([0]));
    };
    hashPath(dockerfile, "Dockerfile", goFileMode(0, false), false);
    const walk = (dir: string) => {
        // Go's walk: entries sorted by name (bytes), depth first.
        const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
        for (const entry of entries) {
            const full = path.join(dir, entry.name);
            const relative = path.relative(context, full).split(path.sep).join("/");
            if (entry.isDirectory()) {
                walk(full);
                continue;
            }
            if (ignored.ignores(relative)) continue;
            if (entry.isSymbolicLink()) {
                hashPath(full, relative, goFileMode(fs.lstatSync(full).mode & 0o777, true), true);
            } else if (entry.isFile()) {
                hashPath(full, relative, goFileMode(fs.statSync(full).mode & 0o777, false), false);
            }
        }
    };
    walk(context);
    return crypto.createHash("sha256").update(Buffer.concat(accumulator)).digest("hex");
}

/** Go's `fs.FileMode.String()` for a regular file ("-rw-r--r--") or a symlink ("Lrwxrwxrwx"). */
export function goFileMode(permissions: number, symlink: boolean): string {
    const rwx = "rwxrwxrwx";
    let text = symlink ? "L" : "-";
    for (let bit = 8; bit >= 0; bit--) text += permissions & (1 << bit) ? rwx[8 - bit] : "-";
    return text;
}

/** Go's GOARCH for this machine, as the Image provider names its default platform `linux/<GOARCH>` (provider.go Check). */
export const HOST_ARCHITECTURE = ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" } as Record<string, string>)[process.arch] ?? process.arch;
