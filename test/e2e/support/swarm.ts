// The Swarm resources of @pulumi/docker for the test executor (executor.ts): Network, Secret and Service, written
// from the provider's source (kreuzwerker/terraform-provider-docker v4.5.0, internal/provider/, which pulumi-docker
// bridges) and performed for real through the Docker Engine API, as the provider does (it uses the Engine's Go client).
// Each rule, with the line it follows and the test that pins it, is in the conformance table of
// test/e2e/support/README.md.
//
// - Diff: the Terraform plugin SDK's, over the provider's schemas (swarmSchema.ts), between the state the last
//   Create/Update/Read left and the new inputs. Any changed ForceNew field forces a replacement, however deep it sits
//   (`taskSpec.containerSpec.labels`, `taskSpec.networksAdvanceds`, `taskSpec.containerSpec.hosts`, `sysctl`, the
//   labels of a volume mount, `mode` added or removed, `auth`, `name`); every other change is an in-place Update.
// - Auto-naming: pulumi-docker names a Service, Secret or Network `<logical name>-<7 random characters>` when `name`
//   is not given (provider/resources.go `SetAutonaming(255, "-")`), keeps that name while the resource lives (the
//   bridge reuses the old default, pulumi-terraform-bridge pkg/tfbridge/schema.go `applyDefaults`), and a
//   replacement gets a fresh one.
// - Replacement order: none of the three is DeleteBeforeReplace (only docker_container is, resources.go), so a
//   replacement creates the new resource first and deletes the old one after the program finished (the executor's
//   engine rule). A new service that publishes the old one's port is refused by the Engine itself.
// - Service Create: ServiceCreate of the whole spec, then, with `convergeConfig`, the provider's wait (first poll after
//   `delay`, then after 5 s, then every 10 s) until as many tasks run as `replicas`; a service that does not converge
//   is deleted and the Create fails. Update: ServiceInspect for the version index, ServiceUpdate of the whole spec at
//   that version, then the provider's wait (first poll after 7 s): `completed` as soon as every slot has a running
//   task, even while Swarm is still rolling or monitoring the last task; `rollback_completed`, `paused` and
//   `rollback_paused` fail with the provider's messages. Both end with Read, which puts what the Engine holds into
//   the state (durations in the provider's short form: 60 s is read back as "1m").
// - `taskSpec.forceUpdate` goes into TaskSpec.ForceUpdate; Swarm restarts every task whose spec differs from the
//   service's, ForceUpdate included (moby/swarmkit manager/orchestrator/task.go `IsTaskDirty`).
// - Images: the provider asks the registry for a digest on Create (QueryRegistry); no registry is reachable here, so
//   images are given by their local id, which the Engine runs as it is and which the Go client cannot pin either.
// - Delete: ServiceRemove and SecretRemove fail when the object is already gone, as the provider's do; a Network's
//   Delete retries while the network still has endpoints (task containers leave asynchronously).
import * as crypto from "crypto";
import * as http from "http";
import {
  AttributeDiff,
  changedPaths,
  diffResource,
  NETWORK_SCHEMA,
  pathForcesNew,
  Resource,
  SECRET_SCHEMA,
  SERVICE_SCHEMA,
} from "./swarmSchema";

type Plain = Record<string, unknown>;

/** What the executor keeps of a resource that these providers read (see executor.ts `ResourceEntry`). */
export interface SwarmEntry {
  readonly id: string;
  readonly inputs: Plain;
  readonly outputs: Plain;
}

/** The subset of the executor's provider contract these resources use (see executor.ts `Provider`). */
export interface SwarmProvider {
  readonly schema: { [argument: string]: true | "map" | "any" | SwarmProvider["schema"] };
  /** The changed attribute paths between the state the resource's last operation left and the new inputs. */
  changedKeys(old: SwarmEntry, inputs: Plain): string[];
  diff(changed: readonly string[]): "update" | "replace";
  read(entry: SwarmEntry): Promise<Plain | undefined>;
  create(name: string, inputs: Plain): Promise<{ id: string; outputs: Plain }>;
  update(old: SwarmEntry, inputs: Plain): Promise<Plain>;
  delete(entry: SwarmEntry): Promise<void>;
}

const API_VERSION = "v1.41"; // Docker Engine 20.10, the engine this machine runs

function socketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) return "/var/run/docker.sock";
  if (!host.startsWith("unix://")) throw new Error(`the Swarm test resources talk to a local Unix socket only, not DOCKER_HOST=${host}`);
  return host.slice("unix://".length);
}

/** One Engine API call; rejects with the Engine's message on any status >= 400. */
export function engine<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const request = http.request(
      {
        socketPath: socketPath(),
        path: `/${API_VERSION}${path}`,
        method,
        headers: { ...(payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {}), ...headers },
      },
      response => {
        const chunks: Buffer[] = [];
        response.on("data", chunk => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          const parsed = text ? safeJson(text) : undefined;
          if ((response.statusCode ?? 500) >= 400) {
            const message = (parsed as { message?: string } | undefined)?.message ?? text;
            reject(new EngineError(response.statusCode ?? 500, `${method} ${path}: ${message}`));
          } else {
            resolve(parsed as T);
          }
        });
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function autoName(logicalName: string): string {
  return `${logicalName}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Go's time.ParseDuration, in nanoseconds (as the provider converts the schema's duration strings). */
export function goDurationNs(text: unknown): number | undefined {
  if (text === undefined || text === null || text === "") return undefined;
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const parts = [...String(text).matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map(p => p[0]).join("") !== String(text)) throw new Error(`not a Go duration: ${String(text)}`);
  return Math.round(parts.reduce((total, [, value, unit]) => total + Number(value) * units[unit], 0));
}

/** `parsed, _ := time.ParseDuration(v)`: an empty or invalid duration is 0. */
function parsedOrZero(text: unknown): number {
  try {
    return goDurationNs(text) ?? 0;
  } catch {
    return 0;
  }
}

/** Go's time.Duration.String. */
export function goDurationString(ns: number): string {
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  let rest = Math.abs(ns);
  const fraction = (value: number, unit: number) => {
    const whole = Math.floor(value / unit);
    const part = value - whole * unit;
    if (part === 0) return String(whole);
    return `${whole}.${String(part).padStart(String(unit).length - 1, "0").replace(/0+$/, "")}`;
  };
  if (rest < 1e3) return `${sign}${rest}ns`;
  if (rest < 1e6) return `${sign}${fraction(rest, 1e3)}µs`;
  if (rest < 1e9) return `${sign}${fraction(rest, 1e6)}ms`;
  const hours = Math.floor(rest / 3600e9);
  rest -= hours * 3600e9;
  const minutes = Math.floor(rest / 60e9);
  rest -= minutes * 60e9;
  return `${sign}${hours ? `${hours}h` : ""}${hours || minutes ? `${minutes}m` : ""}${fraction(rest, 1e9)}s`;
}

/** resource_docker_service_structures.go:1341-1350 `shortDur`: "1m0s" -> "1m", "1h0m0s" -> "1h". */
export function shortDur(ns: number): string {
  let text = goDurationString(ns);
  if (text.endsWith("m0s")) text = text.slice(0, -2);
  if (text.endsWith("h0m")) text = text.slice(0, -2);
  return text;
}

/** The arguments a schema leaves to the executor's check of unimplemented arguments (executor.ts `Schema`). */
function executorSchema(schema: Resource, skip: readonly string[], prefix = ""): SwarmProvider["schema"] {
  const result: SwarmProvider["schema"] = {};
  for (const [name, field] of Object.entries(schema)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (skip.includes(path) || (field.computed && !field.optional && !field.required)) continue;
    result[name] = field.type === "map" ? "map" : typeof field.elem === "object" ? executorSchema(field.elem, skip, path) : true;
  }
  return result;
}

/** The diff of a resource and its operation (see swarmSchema.ts): replace when a changed path is ForceNew. */
function schemaDiff(schema: Resource) {
  return {
    changedKeys(old: SwarmEntry, inputs: Plain): string[] {
      return changedPaths(diffAgainstState(schema, old.outputs, inputs));
    },
    diff(changed: readonly string[]): "update" | "replace" {
      return changed.some(path => pathForcesNew(schema, path)) ? "replace" : "update";
    },
  };
}

/** The SDK diff of new inputs against a state; an auto-named resource keeps its name (the bridge's old default). */
export function diffAgainstState(schema: Resource, state: Plain, inputs: Plain): AttributeDiff[] {
  const config = inputs.name === undefined && state.name !== undefined ? { ...inputs, name: state.name } : inputs;
  return diffResource(schema, state, config);
}

const labelMap = (labels: unknown): Record<string, string> =>
  Object.fromEntries(((labels as Plain[] | undefined) ?? []).map(l => [String(l.label), String(l.value)]));

/** helpers.go:46-55 `mapToLabelSet`. */
const labelSet = (labels: Record<string, string> | undefined | null): Plain[] =>
  Object.entries(labels ?? {}).map(([label, value]) => ({ label, value }));

/** `d.GetOk`: set and not the zero value of its type. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value as object).length > 0;
  return true;
}

const nonEmpty = <T>(items: T[] | undefined): T[] | undefined => (items && items.length > 0 ? items : undefined);

// -----------------------------------------------------------------------------------------------------------------
// Network

interface NetworkInspect {
  Id: string;
  Name: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  IPAM: {
    Driver: string;
    Options?: Record<string, string> | null;
    Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }> | null;
  };
}

/** resource_docker_network_funcs.go:160-203 `resourceDockerNetworkReadRefreshFunc` into the state. */
async function readNetwork(id: string): Promise<Plain | undefined> {
  let network: NetworkInspect;
  try {
    network = await engine<NetworkInspect>("GET", `/networks/${id}`);
  } catch {
    return undefined; // "Network (%s) not found, removing from state"
  }
  return {
    name: network.Name,
    labels: labelSet(network.Labels),
    driver: network.Driver,
    internal: network.Internal,
    attachable: network.Attachable,
    ingress: network.Ingress,
    ipv6: network.EnableIPv6,
    ipamDriver: network.IPAM.Driver,
    ipamOptions: network.IPAM.Options ?? undefined,
    scope: network.Scope,
    options: network.Options ?? undefined,
    // resource_docker_network_structures.go:11-39 `flattenIpamConfigSpec`
    ipamConfigs: (network.IPAM.Config ?? []).map(config => ({
      subnet: config.Subnet || undefined,
      ipRange: config.IPRange || undefined,
      gateway: config.Gateway || undefined,
      auxAddress: config.AuxiliaryAddresses && Object.keys(config.AuxiliaryAddresses).length > 0 ? config.AuxiliaryAddresses : undefined,
    })),
  };
}

export const networkProvider: SwarmProvider = {
  schema: executorSchema(NETWORK_SCHEMA, []),
  ...schemaDiff(NETWORK_SCHEMA),
  read: entry => readNetwork(entry.id),
  async create(name, inputs) {
    // resource_docker_network_funcs.go:26-82: only the options GetOk sees as set; the Go client asks for
    // CheckDuplicate on API versions before 1.44 (moby/moby client/network_create.go:37-40).
    const networkName = typeof inputs.name === "string" ? inputs.name : autoName(name);
    const ipam = {
      Driver: String(inputs.ipamDriver ?? NETWORK_SCHEMA.ipamDriver.default),
      ...(isSet(inputs.ipamConfigs)
        ? {
            Config: (inputs.ipamConfigs as Plain[]).map(config => ({
              Subnet: config.subnet ?? "",
              IPRange: config.ipRange ?? "",
              Gateway: config.gateway ?? "",
              AuxiliaryAddresses: config.auxAddress ?? {},
            })),
          }
        : {}),
      ...(isSet(inputs.ipamOptions) ? { Options: inputs.ipamOptions } : {}),
    };
    const created = await engine<{ Id: string }>("POST", "/networks/create", {
      Name: networkName,
      ...(isSet(inputs.labels) ? { Labels: labelMap(inputs.labels) } : {}),
      ...(isSet(inputs.driver) ? { Driver: inputs.driver } : {}),
      ...(isSet(inputs.options) ? { Options: inputs.options } : {}),
      Internal: inputs.internal === true,
      Attachable: inputs.attachable === true,
      Ingress: inputs.ingress === true,
      ...(inputs.ipv6 === true ? { EnableIPv6: true } : {}),
      IPAM: ipam,
      CheckDuplicate: true,
    });
    // Create ends with Read: first look after 2 s (networkReadRefreshDelay).
    await sleep(2000);
    const state = await readNetwork(created.Id);
    if (!state) throw new Error(`network ${created.Id} disappeared right after it was created`);
    return { id: created.Id, outputs: state };
  },
  async update() {
    throw new Error("the Docker provider has no Update for a network: every argument forces a replacement");
  },
  async delete(entry) {
    // resourceDockerNetworkRemoveRefreshFunc (funcs.go:205-225), polled after 2 s, then every 5 s, for 30 s at most:
    // gone -> done; remove; "has active endpoints" (the tasks' containers are still being removed) -> again; any other
    // error fails.
    const deadline = Date.now() + 30_000;
    await sleep(2000);
    for (;;) {
      try {
        await engine("GET", `/networks/${entry.id}`);
      } catch {
        return;
      }
      try {
        await engine("DELETE", `/networks/${entry.id}`);
        return;
      } catch (err) {
        if (!(err instanceof Error && /has active endpoints/i.test(err.message)) || Date.now() > deadline) throw err;
        await sleep(5000);
      }
    }
  },
};

// -----------------------------------------------------------------------------------------------------------------
// Secret

/** validators.go:145-159 `validateStringIsBase64Encoded` (base64.StdEncoding), without echoing the value. */
function checkBase64(data: unknown): void {
  if (typeof data !== "string" || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
    throw new Error("secret data is not base64 decodeable (the provider's validateStringIsBase64Encoded)");
  }
}

export const secretProvider: SwarmProvider = {
  schema: executorSchema(SECRET_SCHEMA, []),
  ...schemaDiff(SECRET_SCHEMA),
  async read(entry) {
    // resource_docker_secret.go:120-141: the data is not exposed by the API; only the id and the name are read.
    try {
      const secret = await engine<{ ID: string; Spec: { Name: string } }>("GET", `/secrets/${entry.id}`);
      return { ...entry.outputs, name: secret.Spec.Name };
    } catch {
      return undefined;
    }
  },
  async create(name, inputs) {
    checkBase64(inputs.data);
    const secretName = typeof inputs.name === "string" ? inputs.name : autoName(name);
    const created = await engine<{ ID: string }>("POST", "/secrets/create", {
      Name: secretName,
      Data: inputs.data,
      ...(isSet(inputs.labels) ? { Labels: labelMap(inputs.labels) } : {}),
    });
    return { id: created.ID, outputs: { ...inputs, name: secretName } };
  },
  async update() {
    throw new Error("the Docker provider has no Update for a secret: every argument forces a replacement");
  },
  async delete(entry) {
    // resource_docker_secret.go:143-155: SecretRemove's error fails the delete, a missing secret included.
    await engine("DELETE", `/secrets/${entry.id}`);
  },
};

// -----------------------------------------------------------------------------------------------------------------
// Service

interface ServiceInspect {
  ID: string;
  Version: { Index: number };
  Spec: EngineServiceSpec;
  Endpoint?: { Spec?: { Mode?: string; Ports?: EnginePort[] }; Ports?: EnginePort[] };
  UpdateStatus?: { State?: string; Message?: string };
}
interface EnginePort {
  Name?: string;
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}
export type EngineServiceSpec = Plain & {
  Name: string;
  Labels?: Record<string, string>;
  TaskTemplate: Plain;
  Mode?: { Replicated?: { Replicas?: number }; Global?: Plain };
  UpdateConfig?: Plain;
  RollbackConfig?: Plain;
  EndpointSpec?: { Mode?: string; Ports?: EnginePort[] };
};
interface TaskInspect {
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

/** Service arguments the spec builder below does not implement: refused by the executor when set. */
const SERVICE_UNIMPLEMENTED = ["auth", "taskSpec.containerSpec.privileges", "taskSpec.resources.reservation.genericResources", "taskSpec.placement.platforms"];

/**
 * The values the provider's ResourceData gives createServiceSpec: the inputs, each missing field read as its Default,
 * and (on Update) each missing Optional+Computed field as the state holds it (`force_update` keeps its counter).
 */
export function resolvedInputs(schema: Resource, inputs: Plain | undefined, state: Plain | undefined): Plain {
  const result: Plain = {};
  for (const [name, field] of Object.entries(schema)) {
    let value = inputs?.[name];
    if (value === undefined || value === null) {
      if (field.computed && state?.[name] !== undefined) value = state[name];
      else if (field.default !== undefined) value = field.default;
      else continue;
      if (field.computed) {
        result[name] = value;
        continue;
      }
    }
    if (field.type === "object" && typeof field.elem === "object") {
      result[name] = resolvedInputs(field.elem, value as Plain, state?.[name] as Plain | undefined);
    } else if ((field.type === "list" || field.type === "set") && typeof field.elem === "object") {
      const elem = field.elem;
      const stateList = (state?.[name] as Plain[] | undefined) ?? [];
      result[name] = (value as Plain[]).map((item, i) => resolvedInputs(elem, item, field.type === "list" ? stateList[i] : undefined));
    } else {
      result[name] = value;
    }
  }
  return result;
}

function durationOrZero(value: unknown): number {
  return parsedOrZero(value);
}

const stringList = (value: unknown): string[] => ((value as unknown[] | undefined) ?? []).map(v => (v === null || v === undefined ? "" : String(v)));

const REFERENCE_KEYS = { secret: ["Secret", "secret"], config: ["Config", "config"] } as const;

/** The secrets and configs of createContainerSpec (structures.go:929-972): the same fields under their own names. */
function fileReferences(references: Plain[] | undefined, kind: "secret" | "config"): Plain[] | undefined {
  const [engine, pulumi] = REFERENCE_KEYS[kind];
  return nonEmpty(
    (references ?? []).map(reference => ({
      [`${engine}ID`]: reference[`${pulumi}Id`],
      [`${engine}Name`]: reference[`${pulumi}Name`] ?? "",
      File: { Name: reference.fileName, UID: String(reference.fileUid), GID: String(reference.fileGid), Mode: Number(reference.fileMode) },
    })),
  );
}

/** flattenServiceSecrets and flattenServiceConfigs (structures.go:344-396), likewise. */
function flattenFileReferences(references: Plain[] | undefined, kind: "secret" | "config"): Plain[] | undefined {
  const [engine, pulumi] = REFERENCE_KEYS[kind];
  return nonEmpty(
    (references ?? []).map(reference => {
      const file = reference.File as Plain | undefined;
      return {
        [`${pulumi}Id`]: reference[`${engine}ID`],
        ...(reference[`${engine}Name`] ? { [`${pulumi}Name`]: reference[`${engine}Name`] } : {}),
        ...(file ? { fileName: file.Name, ...(file.UID ? { fileUid: file.UID } : {}), ...(file.GID ? { fileGid: file.GID } : {}), fileMode: ns(file.Mode) } : {}),
      };
    }),
  );
}

/** resource_docker_service_structures.go:708-1001 `createContainerSpec`. */
function containerSpec(spec: Plain): Plain {
  const health = spec.healthcheck as Plain | undefined;
  const dns = spec.dnsConfig as Plain | undefined;
  return {
    Image: spec.image,
    Labels: labelMap(spec.labels),
    Command: nonEmpty(stringList(spec.commands)),
    Args: nonEmpty(stringList(spec.args)),
    Hostname: spec.hostname || undefined,
    Env: nonEmpty(Object.entries((spec.env as Record<string, string> | undefined) ?? {}).filter(([key]) => key !== "").map(([key, value]) => `${key}=${value}`)),
    Dir: spec.dir || undefined,
    User: spec.user || undefined,
    Groups: nonEmpty(stringList(spec.groups)),
    ReadOnly: spec.readOnly === true || undefined,
    Mounts: nonEmpty(
      ((spec.mounts as Plain[] | undefined) ?? []).map(mount => {
        const bind = mount.bindOptions as Plain | undefined;
        const volume = mount.volumeOptions as Plain | undefined;
        const tmpfs = mount.tmpfsOptions as Plain | undefined;
        return {
          Type: mount.type,
          Target: mount.target,
          Source: mount.source ?? "",
          ReadOnly: mount.readOnly === true,
          ...(bind ? { BindOptions: { Propagation: bind.propagation } } : {}),
          ...(volume
            ? {
                VolumeOptions: {
                  NoCopy: volume.noCopy === true,
                  Labels: labelMap(volume.labels),
                  ...(volume.driverName !== undefined || volume.driverOptions !== undefined
                    ? { DriverConfig: { Name: volume.driverName ?? "", Options: volume.driverOptions ?? {} } }
                    : {}),
                },
              }
            : {}),
          ...(tmpfs ? { TmpfsOptions: { SizeBytes: Number(tmpfs.sizeBytes ?? 0), Mode: Number(tmpfs.mode ?? 0) } } : {}),
        };
      }),
    ),
    StopSignal: spec.stopSignal || undefined,
    // `parsed, _ := time.ParseDuration(...)`: always sent, 0 when unset.
    StopGracePeriod: durationOrZero(spec.stopGracePeriod),
    // Always sent (the key is in every ResourceData map), filled when given.
    Healthcheck: health
      ? {
          Test: nonEmpty(stringList(health.tests)),
          Interval: durationOrZero(health.interval),
          Timeout: durationOrZero(health.timeout),
          StartPeriod: durationOrZero(health.startPeriod),
          Retries: Number(health.retries ?? 0),
        }
      : {},
    Hosts: nonEmpty(((spec.hosts as Plain[] | undefined) ?? []).map(host => `${host.ip} ${host.host}`)),
    DNSConfig: dns ? { Nameservers: nonEmpty(stringList(dns.nameservers)), Search: nonEmpty(stringList(dns.searches)), Options: nonEmpty(stringList(dns.options)) } : {},
    Secrets: fileReferences(spec.secrets as Plain[] | undefined, "secret"),
    Configs: fileReferences(spec.configs as Plain[] | undefined, "config"),
    Isolation: spec.isolation,
    Sysctls: isSet(spec.sysctl) ? spec.sysctl : undefined,
    CapabilityAdd: nonEmpty(stringList(spec.capAdds)),
    CapabilityDrop: nonEmpty(stringList(spec.capDrops)),
    // supportsServiceContainerInit (client API >= 1.37): always sent, false when unset.
    Init: spec.init === true,
  };
}

/** createUpdateOrRollbackConfig (structures.go:1294-1321). */
function updateOrRollbackConfig(config: Plain | undefined) {
  if (!config) return undefined;
  return {
    Parallelism: Number(config.parallelism ?? 0),
    Delay: durationOrZero(config.delay),
    FailureAction: config.failureAction ?? "",
    Monitor: durationOrZero(config.monitor),
    MaxFailureRatio: Number.parseFloat(String(config.maxFailureRatio ?? "0")) || 0,
    Order: config.order ?? "",
  };
}

/** The provider's createServiceSpec (resource_docker_service_structures.go:589-633) from resolved inputs. */
export function serviceSpec(serviceName: string, resolved: Plain): EngineServiceSpec {
  const task = (resolved.taskSpec ?? {}) as Plain;
  const resources = task.resources as Plain | undefined;
  const limits = resources?.limits as Plain | undefined;
  const reservation = resources?.reservation as Plain | undefined;
  const restart = task.restartPolicy as Plain | undefined;
  const placement = task.placement as Plain | undefined;
  const logDriver = task.logDriver as Plain | undefined;
  const mode = resolved.mode as Plain | undefined;
  const replicated = mode?.replicated as Plain | undefined;
  const endpoint = resolved.endpointSpec as Plain | undefined;
  return {
    Name: serviceName,
    Labels: isSet(resolved.labels) ? labelMap(resolved.labels) : undefined,
    TaskTemplate: {
      ContainerSpec: containerSpec((task.containerSpec ?? {}) as Plain),
      // createResources (structures.go:1004-1045): always sent, limits and reservation when given.
      Resources: {
        ...(limits ? { Limits: { NanoCPUs: Number(limits.nanoCpus ?? 0), MemoryBytes: Number(limits.memoryBytes ?? 0) } } : {}),
        ...(reservation ? { Reservations: { NanoCPUs: Number(reservation.nanoCpus ?? 0), MemoryBytes: Number(reservation.memoryBytes ?? 0) } } : {}),
      },
      // createRestartPolicy (structures.go:1084-1109): empty when not given, every field set when given.
      RestartPolicy: restart
        ? {
            Condition: restart.condition ?? "",
            Delay: durationOrZero(restart.delay),
            MaxAttempts: Number(restart.maxAttempts ?? 0),
            Window: durationOrZero(restart.window),
          }
        : {},
      // createPlacement (structures.go:1112-1135).
      Placement: {
        Constraints: nonEmpty(stringList(placement?.constraints)),
        Preferences: nonEmpty(stringList(placement?.prefs).map(spread => ({ Spread: { SpreadDescriptor: spread } }))),
        MaxReplicas: Number(placement?.maxReplicas ?? 0),
      },
      // createServiceTaskSpec (structures.go:681-683): `taskSpec.ForceUpdate = uint64(force_update)`.
      ForceUpdate: Number(task.forceUpdate ?? 0),
      Runtime: task.runtime || undefined,
      // createServiceAdvancedNetworks (structures.go:1138-1163).
      Networks: nonEmpty(
        ((task.networksAdvanceds as Plain[] | undefined) ?? []).map(network => {
          const target = network.id || network.name;
          if (!target) throw new Error("network 'name' or 'id' must be specified");
          const driverOpts = Object.fromEntries(
            stringList(network.driverOpts)
              .map(option => option.split(/=(.*)/s))
              .filter(parts => parts.length >= 2)
              .map(([key, value]) => [key, value]),
          );
          return { Target: target, Aliases: stringList(network.aliases), ...(Object.keys(driverOpts).length ? { DriverOpts: driverOpts } : {}) };
        }),
      ),
      LogDriver: logDriver ? { Name: logDriver.name, Options: logDriver.options ?? {} } : undefined,
    },
    // createServiceMode (structures.go:1187-1220).
    Mode: {
      ...(replicated ? { Replicated: { Replicas: Number(replicated.replicas ?? 1) } } : {}),
      ...(mode?.global === true ? { Global: {} } : {}),
    },
    UpdateConfig: updateOrRollbackConfig(resolved.updateConfig as Plain | undefined),
    RollbackConfig: updateOrRollbackConfig(resolved.rollbackConfig as Plain | undefined),
    // createServiceEndpointSpec (structures.go:1240-1259).
    EndpointSpec: {
      ...(endpoint?.mode ? { Mode: endpoint.mode as string } : {}),
      ...(endpoint && isSet(endpoint.ports)
        ? {
            Ports: (endpoint.ports as Plain[]).map(port => ({
              Name: (port.name as string) ?? "",
              Protocol: port.protocol as string,
              TargetPort: Number(port.targetPort),
              PublishedPort: Number(port.publishedPort ?? 0),
              PublishMode: port.publishMode as string,
            })),
          }
        : {}),
    },
  };
}

// Read-back: resource_docker_service_funcs.go:109-167 `resourceDockerServiceReadRefreshFunc` with the flatteners of
// resource_docker_service_structures.go:23-581, into Pulumi-shaped state.

const ns = (value: unknown) => Number(value ?? 0);

function flattenContainerSpec(spec: Plain): Plain {
  const health = spec.Healthcheck as Plain | undefined;
  const dns = spec.DNSConfig as Plain | undefined;
  const strings = (value: unknown) => nonEmpty(value as string[] | undefined);
  return {
    image: (spec.Image as string) || undefined,
    labels: spec.Labels && Object.keys(spec.Labels as object).length > 0 ? labelSet(spec.Labels as Record<string, string>) : undefined,
    commands: strings(spec.Command),
    args: strings(spec.Args),
    hostname: spec.Hostname || undefined,
    // mapStringSliceToMap (structures.go:1363-1375)
    env: nonEmpty(spec.Env as string[] | undefined)
      ? Object.fromEntries((spec.Env as string[]).filter(entry => entry.length > 0).map(entry => [entry.split("=")[0], entry.split("=").slice(1).join("=")]))
      : undefined,
    user: spec.User || undefined,
    dir: spec.Dir || undefined,
    groups: strings(spec.Groups),
    readOnly: spec.ReadOnly === true ? true : undefined,
    mounts: nonEmpty(
      ((spec.Mounts as Plain[] | undefined) ?? []).map(mount => {
        const bind = mount.BindOptions as Plain | undefined;
        const volume = mount.VolumeOptions as Plain | undefined;
        const tmpfs = mount.TmpfsOptions as Plain | undefined;
        const driver = volume?.DriverConfig as Plain | undefined;
        return {
          target: mount.Target,
          source: mount.Source ?? "",
          type: mount.Type,
          readOnly: mount.ReadOnly === true,
          ...(bind ? { bindOptions: bind.Propagation ? { propagation: bind.Propagation } : {} } : {}),
          ...(volume
            ? {
                volumeOptions: {
                  noCopy: volume.NoCopy === true,
                  labels: labelSet(volume.Labels as Record<string, string> | undefined),
                  ...(driver ? { ...(driver.Name ? { driverName: driver.Name } : {}), driverOptions: (driver.Options as Plain | undefined) ?? {} } : {}),
                },
              }
            : {}),
          ...(tmpfs ? { tmpfsOptions: { sizeBytes: ns(tmpfs.SizeBytes), mode: ns(tmpfs.Mode) & 0o777 } } : {}),
        };
      }),
    ),
    stopSignal: spec.StopSignal || undefined,
    stopGracePeriod: spec.StopGracePeriod === undefined || spec.StopGracePeriod === null ? undefined : shortDur(ns(spec.StopGracePeriod)),
    // flattenServiceHealthcheck (structures.go:289-305)
    healthcheck: health
      ? {
          tests: strings(health.Test),
          interval: shortDur(ns(health.Interval)),
          timeout: shortDur(ns(health.Timeout)),
          startPeriod: shortDur(ns(health.StartPeriod)),
          retries: ns(health.Retries),
        }
      : undefined,
    // flattenServiceHosts (structures.go:307-322): "ip host"
    hosts: nonEmpty(((spec.Hosts as string[] | undefined) ?? []).map(entry => ({ ip: entry.split(" ")[0], host: entry.split(" ")[1] }))),
    dnsConfig: dns ? { nameservers: strings(dns.Nameservers), searches: strings(dns.Search), options: strings(dns.Options) } : undefined,
    secrets: flattenFileReferences(spec.Secrets as Plain[] | undefined, "secret"),
    configs: flattenFileReferences(spec.Configs as Plain[] | undefined, "config"),
    isolation: spec.Isolation || undefined,
    sysctl: spec.Sysctls && Object.keys(spec.Sysctls as object).length > 0 ? spec.Sysctls : undefined,
    capAdds: strings(spec.CapabilityAdd),
    capDrops: strings(spec.CapabilityDrop),
    init: spec.Init === undefined || spec.Init === null ? undefined : spec.Init === true,
  };
}

function flattenTaskSpec(task: Plain): Plain {
  const resources = task.Resources as Plain | undefined;
  const restart = task.RestartPolicy as Plain | undefined;
  const placement = task.Placement as Plain | undefined;
  const limits = resources?.Limits as Plain | undefined;
  const reservations = resources?.Reservations as Plain | undefined;
  const logDriver = task.LogDriver as Plain | undefined;
  return {
    containerSpec: task.ContainerSpec ? flattenContainerSpec(task.ContainerSpec as Plain) : undefined,
    resources: resources
      ? {
          limits: limits ? { nanoCpus: ns(limits.NanoCPUs), memoryBytes: ns(limits.MemoryBytes) } : undefined,
          reservation: reservations ? { nanoCpus: ns(reservations.NanoCPUs), memoryBytes: ns(reservations.MemoryBytes) } : undefined,
        }
      : undefined,
    // flattenTaskRestartPolicy (structures.go:456-477)
    restartPolicy: restart
      ? {
          condition: restart.Condition || undefined,
          delay: restart.Delay === undefined ? undefined : shortDur(ns(restart.Delay)),
          maxAttempts: restart.MaxAttempts === undefined ? undefined : ns(restart.MaxAttempts),
          window: restart.Window === undefined ? undefined : shortDur(ns(restart.Window)),
        }
      : undefined,
    // flattenTaskPlacement (structures.go:479-497)
    placement: placement
      ? {
          constraints: nonEmpty(placement.Constraints as string[] | undefined),
          prefs: nonEmpty(((placement.Preferences as Plain[] | undefined) ?? []).map(pref => String((pref.Spread as Plain | undefined)?.SpreadDescriptor ?? ""))),
          maxReplicas: ns(placement.MaxReplicas),
        }
      : undefined,
    forceUpdate: ns(task.ForceUpdate),
    runtime: task.Runtime || undefined,
    // flattenTaskNetworksAdvanced (structures.go:526-541)
    networksAdvanceds: nonEmpty(
      ((task.Networks as Plain[] | undefined) ?? []).map(network => ({
        id: network.Target,
        driverOpts: Object.entries((network.DriverOpts as Record<string, string> | undefined) ?? {})
          .filter(([key]) => key !== "")
          .map(([key, value]) => `${key}=${value}`),
        ...(nonEmpty(network.Aliases as string[] | undefined) ? { aliases: network.Aliases } : {}),
      })),
    ),
    logDriver: logDriver ? { name: logDriver.Name, ...(isSet(logDriver.Options) ? { options: logDriver.Options } : {}) } : undefined,
  };
}

function flattenUpdateConfig(config: Plain | undefined): Plain | undefined {
  if (!config) return undefined;
  return {
    parallelism: ns(config.Parallelism),
    delay: shortDur(ns(config.Delay)),
    failureAction: config.FailureAction ?? "",
    monitor: shortDur(ns(config.Monitor)),
    maxFailureRatio: Number(config.MaxFailureRatio ?? 0).toFixed(1),
    order: config.Order ?? "",
  };
}

const flattenPorts = (ports: EnginePort[] | undefined): Plain[] =>
  (ports ?? []).map(port => ({
    name: port.Name ?? "",
    protocol: port.Protocol ?? "",
    targetPort: port.TargetPort ?? 0,
    publishedPort: port.PublishedPort ?? 0,
    publishMode: port.PublishMode ?? "",
  }));

/**
 * The state Read makes of a service spec (and of the endpoint the Engine allocated, when it has one): every field
 * Read sets, from the Engine's values; `convergeConfig` and `auth` are never read back and stay as configured.
 */
export function serviceState(spec: EngineServiceSpec, endpoint: ServiceInspect["Endpoint"], configured: Plain): Plain {
  const endpointMode = endpoint?.Spec?.Mode;
  return {
    name: spec.Name,
    labels: labelSet(spec.Labels),
    taskSpec: flattenTaskSpec(spec.TaskTemplate),
    // flattenServiceMode (structures.go:51-76)
    mode: {
      ...(spec.Mode?.Replicated ? { replicated: spec.Mode.Replicated.Replicas === undefined ? {} : { replicas: spec.Mode.Replicated.Replicas } } : {}),
      global: spec.Mode?.Global !== undefined,
    },
    updateConfig: flattenUpdateConfig(spec.UpdateConfig),
    rollbackConfig: flattenUpdateConfig(spec.RollbackConfig),
    // funcs.go:153-163: the allocated endpoint when the Engine shows one, else the spec's.
    endpointSpec: endpointMode
      ? { mode: endpointMode, ports: flattenPorts(endpoint?.Ports) }
      : { mode: spec.EndpointSpec?.Mode, ports: flattenPorts(spec.EndpointSpec?.Ports) },
    ...(configured.convergeConfig !== undefined ? { convergeConfig: configured.convergeConfig } : {}),
    ...(configured.auth !== undefined ? { auth: configured.auth } : {}),
  };
}

/**
 * Read: the service by id or by name (fetchDockerService lists every service); "pending" until the Engine exposes
 * an endpoint mode, polled after 2 s, then every 5 s, for 30 s. `convergeConfig` and `auth` are never read back:
 * they stay as configured.
 */
async function readService(id: string, name: string, configured: Plain): Promise<Plain | undefined> {
  const deadline = Date.now() + 30_000;
  await sleep(2000);
  for (;;) {
    const services = await engine<Array<{ ID: string; Spec: { Name: string } }>>("GET", "/services");
    const found = services.find(service => service.ID === id || service.Spec.Name === name);
    if (!found) return undefined;
    const service = await engine<ServiceInspect>("GET", `/services/${found.ID}`);
    const endpointMode = service.Endpoint?.Spec?.Mode;
    const specMode = service.Spec.EndpointSpec?.Mode;
    if (endpointMode || specMode) return serviceState(service.Spec, service.Endpoint, configured);
    if (Date.now() > deadline) throw new Error(`timeout while waiting for state to become 'all_fields, removed' (last state: 'pending', timeout: 30s)`);
    await sleep(5000);
  }
}

// The provider's convergers (resource_docker_service_funcs.go:357-601).

/** numberedStates (funcs.go:667-686). */
const NUMBERED_STATES: Record<string, number> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
};

/**
 * replicatedConsoleLogUpdater.update with tasksBySlot (funcs.go:510-595): per slot the task with the lowest desired
 * state, then the lowest observed state, on an active node; running when meant to run and running.
 */
export function convergedSlots(tasks: readonly TaskInspect[], replicas: number, activeNodes: ReadonlySet<string>): { running: number; converged: boolean } {
  const bySlot = new Map<number, TaskInspect>();
  for (const task of tasks) {
    const desired = NUMBERED_STATES[task.DesiredState] ?? 0;
    const observed = NUMBERED_STATES[task.Status.State] ?? 0;
    if (desired === 0 || observed === 0) continue;
    const slot = task.Slot ?? 0;
    const existing = bySlot.get(slot);
    if (existing) {
      const existingDesired = NUMBERED_STATES[existing.DesiredState];
      if (existingDesired < desired) continue;
      if (existingDesired === desired && NUMBERED_STATES[existing.Status.State] <= observed) continue;
    }
    if (task.NodeID && !activeNodes.has(task.NodeID)) continue;
    bySlot.set(slot, task);
  }
  const running = [...bySlot.values()].filter(
    task => !(NUMBERED_STATES[task.DesiredState] > NUMBERED_STATES.running) && task.Status.State === "running",
  ).length;
  return { running, converged: running === replicas };
}

async function slotsConverged(serviceId: string, service: ServiceInspect): Promise<boolean> {
  const replicas = service.Spec.Mode?.Replicated?.Replicas;
  if (service.Spec.Mode?.Replicated === undefined || replicas === undefined) throw new Error("no replica count");
  const filters = encodeURIComponent(JSON.stringify({ service: [serviceId], "desired-state": ["running"] }));
  const tasks = await engine<TaskInspect[]>("GET", `/tasks?filters=${filters}`);
  const nodes = await engine<Array<{ ID: string; Status: { State: string } }>>("GET", "/nodes");
  return convergedSlots(tasks, replicas, new Set(nodes.filter(node => node.Status.State !== "down").map(node => node.ID))).converged;
}

/**
 * retry.StateChangeConf.WaitForStateContext (terraform-plugin-sdk helper/retry/state.go:58-200): first refresh after
 * `delay`, then after MinTimeout (5 s), then every 10 s (the doubled wait, capped at 10 s); a timeout reads
 * "timeout while waiting for state".
 */
async function waitForState(delayMs: number, timeoutMs: number, refresh: () => Promise<"done" | "pending">): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await sleep(delayMs);
  let wait = 0;
  for (;;) {
    if ((await refresh()) === "done") return;
    wait = wait === 0 ? 5000 : 10_000;
    if (Date.now() + wait > deadline) {
      await sleep(Math.max(0, deadline - Date.now()));
      throw new Error("timeout while waiting for state");
    }
    await sleep(wait);
  }
}

/** createConvergeConfig (structures.go:1323-1339). */
function convergeConfig(resolved: Plain): { delayMs: number; timeoutMs: number; timeout: string } | undefined {
  const converge = resolved.convergeConfig as Plain | undefined;
  if (!converge) return undefined;
  const timeoutNs = parsedOrZero(converge.timeout);
  return { delayMs: parsedOrZero(converge.delay) / 1e6, timeoutMs: timeoutNs / 1e6, timeout: goDurationString(timeoutNs) };
}

/** DidNotConvergeError.Error (funcs.go:350-355). */
const didNotConverge = (serviceId: string, timeout: string) => new Error(`Service with ID (${serviceId}) did not converge after ${timeout}`);

/** Create's wait (funcs.go:52-77, 358-403): on any failure the service is deleted first. */
async function waitForCreate(serviceId: string, resolved: Plain): Promise<void> {
  const converge = convergeConfig(resolved);
  if (!converge) return; // fire and forget
  try {
    await waitForState(converge.delayMs, converge.timeoutMs, async () =>
      (await slotsConverged(serviceId, await engine<ServiceInspect>("GET", `/services/${serviceId}`))) ? "done" : "pending",
    );
  } catch (err) {
    await engine("DELETE", `/services/${serviceId}`);
    if (err instanceof Error && /timeout while waiting for state/i.test(err.message)) throw didNotConverge(serviceId, converge.timeout);
    throw err;
  }
}

/**
 * Update's wait (funcs.go:200-222, 406-476): UpdateStatus first (`completed` done; `rollback_completed`, `paused`,
 * `rollback_paused` fail), then, also while `updating`, done as soon as every slot runs a task.
 */
async function waitForUpdate(serviceId: string, resolved: Plain): Promise<void> {
  const converge = convergeConfig(resolved);
  if (!converge) return;
  try {
    await waitForState(7000, converge.timeoutMs, async () => {
      const service = await engine<ServiceInspect>("GET", `/services/${serviceId}`);
      const status = service.UpdateStatus;
      let rollback = false;
      switch (status?.State) {
        case "completed":
          return "done";
        case "rollback_started":
          rollback = true;
          break;
        case "rollback_completed":
          throw new Error(`service rollback completed: ${status.Message ?? ""}`);
        case "paused":
          throw new Error(`service update paused: ${status.Message ?? ""}`);
        case "rollback_paused":
          throw new Error(`service rollback paused: ${status.Message ?? ""}`);
      }
      if (await slotsConverged(serviceId, service)) {
        if (rollback) throw new Error(`service rollback completed: ${status?.Message ?? ""}`);
        return "done";
      }
      return "pending";
    });
  } catch (err) {
    if (err instanceof Error && /timeout while waiting for state/i.test(err.message)) throw didNotConverge(serviceId, converge.timeout);
    throw err;
  }
}

/** The provider's registry auth header: an empty AuthConfig, base64url (funcs.go:43-44, 646-661). */
const REGISTRY_AUTH = { "X-Registry-Auth": Buffer.from(JSON.stringify({})).toString("base64url") };

const serviceDiff = schemaDiff(SERVICE_SCHEMA);

export const serviceProvider: SwarmProvider & { changedPaths(state: Plain, inputs: Plain): string[] } = {
  schema: executorSchema(SERVICE_SCHEMA, SERVICE_UNIMPLEMENTED),
  ...serviceDiff,
  /** The changed attribute paths of new inputs against a service's state (its Read-back). */
  changedPaths(state, inputs) {
    return changedPaths(diffAgainstState(SERVICE_SCHEMA, state, inputs));
  },
  read(entry) {
    return readService(entry.id, String(entry.outputs.name ?? ""), entry.inputs);
  },
  async create(name, inputs) {
    const serviceName = typeof inputs.name === "string" ? inputs.name : autoName(name);
    const resolved = resolvedInputs(SERVICE_SCHEMA, inputs, undefined);
    const created = await engine<{ ID: string }>("POST", "/services/create", serviceSpec(serviceName, resolved), REGISTRY_AUTH);
    await waitForCreate(created.ID, resolved);
    const state = await readService(created.ID, serviceName, inputs);
    if (!state) throw new Error(`service ${created.ID} disappeared right after it was created`);
    return { id: created.ID, outputs: state };
  },
  async update(old, inputs) {
    const serviceName = String(old.outputs.name);
    const current = await engine<ServiceInspect>("GET", `/services/${old.id}`);
    const resolved = resolvedInputs(SERVICE_SCHEMA, { ...inputs, name: serviceName }, old.outputs);
    await engine("POST", `/services/${old.id}/update?version=${current.Version.Index}`, serviceSpec(serviceName, resolved), REGISTRY_AUTH);
    await waitForUpdate(old.id, resolved);
    const state = await readService(old.id, serviceName, inputs);
    if (!state) throw new Error(`service ${old.id} disappeared during its update`);
    return state;
  },
  async delete(entry) {
    // deleteService (funcs.go:261-337): ServiceRemove; its error, a missing service included, fails the delete.
    // Without a stop_grace_period other than 0s it does not wait for the containers.
    try {
      await engine("DELETE", `/services/${entry.id}`);
    } catch (err) {
      throw new Error(`Error deleting service with ID '${entry.id}': ${err instanceof Error ? err.message : String(err)}`);
    }
  },
};

/**
 * The state Create leaves for these inputs when the Engine keeps the spec as sent and has allocated no endpoint yet:
 * the provider's rules without an Engine, for tests of what a second run would do.
 */
export function stateOfCreatedService(serviceName: string, inputs: Plain): Plain {
  return serviceState(serviceSpec(serviceName, resolvedInputs(SERVICE_SCHEMA, { ...inputs, name: serviceName }, undefined)), undefined, inputs);
}
