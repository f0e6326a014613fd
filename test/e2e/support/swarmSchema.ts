// The schemas of the Docker provider's Swarm resources and the Terraform plugin SDK's diff over them, for the test
// executor's Swarm double (swarm.ts). Written from the sources only:
//
// - kreuzwerker/terraform-provider-docker internal/provider/ @ v4.5.0 (bridged by @pulumi/docker 5.x):
//   resource_docker_service.go, resource_docker_secret.go, resource_docker_network.go, helpers.go (labelSchema),
//   validators.go (suppressEquivalentFloatRatio). Every field below carries the line of its declaration there.
// - hashicorp/terraform-plugin-sdk helper/schema @ v2.40.1 (the provider's go.mod pin): schema.go `schemaMap.diff`,
//   `diffString`, `diffList`, `diffSet`, `diffMap` and `Schema.finalizeDiff`; serialize.go (the set hash);
//   field_reader_config.go (a value missing from the configuration reads as the field's Default).
//
// Names are the Pulumi ones (@pulumi/docker bridges `task_spec.container_spec` as `taskSpec.containerSpec`, a list
// with MaxItems 1 as one object, and pluralises list names: `command` -> `commands`, `test` -> `tests`).
//
// What the diff decides, as the SDK does:
// - A changed attribute forces a replacement when its field is ForceNew (finalizeDiff: RequiresNew = Old != New),
//   however deep it sits: a parent that is not ForceNew does not shield it. A list, set or map that is itself
//   ForceNew forces it through its element count, and hands ForceNew down to primitive elements only (diffList and
//   diffSet copy it into a primitive Elem, never into a nested Resource).
// - Set elements are identified by their content (the hash of every optional or required field, missing ones read
//   as zero): a changed element is one removed and one added, so any ForceNew field inside it forces a replacement.
// - An Optional+Computed field missing from the configuration keeps its state: no diff (diffString `removed &&
//   Computed`, diffList/diffSet `o != nil && n == nil && Computed`).
// - A field missing from the configuration reads as its Default; otherwise as its type's zero value once the state
//   has one. Equal values are no diff.
type Plain = Record<string, unknown>;

export type Primitive = "string" | "int" | "bool";

export interface Field {
  /** The Terraform attribute name. */
  readonly tf: string;
  /** Line of the field's declaration in the resource's file at v4.5.0. */
  readonly line: number;
  /** `object` is a TypeList with MaxItems 1 and a Resource element (one object in Pulumi). */
  readonly type: Primitive | "object" | "list" | "set" | "map";
  readonly elem?: Resource | Primitive;
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
  readonly forceNew?: boolean;
  readonly default?: string | number | boolean;
  /** DiffSuppressFunc suppressEquivalentFloatRatio (validators.go:76-90): "0" and "0.0" are the same. */
  readonly floatRatio?: boolean;
}

export interface Resource {
  readonly [pulumiName: string]: Field;
}

type Flags = Omit<Field, "tf" | "line" | "type" | "elem">;
const str = (tf: string, line: number, flags: Flags = {}): Field => ({ tf, line, type: "string", ...flags });
const int = (tf: string, line: number, flags: Flags = {}): Field => ({ tf, line, type: "int", ...flags });
const bool = (tf: string, line: number, flags: Flags = {}): Field => ({ tf, line, type: "bool", ...flags });
const object = (tf: string, line: number, elem: Resource, flags: Flags = {}): Field => ({ tf, line, type: "object", elem, ...flags });
const list = (tf: string, line: number, elem: Resource | Primitive, flags: Flags = {}): Field => ({ tf, line, type: "list", elem, ...flags });
const set = (tf: string, line: number, elem: Resource | Primitive, flags: Flags = {}): Field => ({ tf, line, type: "set", elem, ...flags });
const map = (tf: string, line: number, flags: Flags = {}): Field => ({ tf, line, type: "map", elem: "string", ...flags });
const O = { optional: true } as const;
const R = { required: true } as const;

/** helpers.go:57-76 `newLabelSchema(forceNew)`: `labelSchema` (ForceNew) and `labelSchemaUpdatable`. */
function labelSchema(forceNew: boolean): Resource {
  return { label: str("label", 60, { ...R, forceNew }), value: str("value", 66, { ...R, forceNew }) };
}
export const LABEL_SCHEMA = labelSchema(true);
export const LABEL_SCHEMA_UPDATABLE = labelSchema(false);

const updateOrRollback = (first: number): Resource => ({
  parallelism: int("parallelism", first, { ...O, default: 1 }),
  delay: str("delay", first + 7, { ...O, default: "0s" }),
  failureAction: str("failure_action", first + 14, { ...O, default: "pause" }),
  monitor: str("monitor", first + 21, { ...O, default: "5s" }),
  maxFailureRatio: str("max_failure_ratio", first + 28, { ...O, default: "0.0", floatRatio: true }),
  order: str("order", first + 36, { ...O, default: "stop-first" }),
});

/** resource_docker_service.go `resourceDockerService` (lines 21-988). */
export const SERVICE_SCHEMA: Resource = {
  auth: object(
    "auth",
    22,
    {
      serverAddress: str("server_address", 30, { ...R, forceNew: true }),
      username: str("username", 36, { ...O, forceNew: true }),
      password: str("password", 43, { ...O, forceNew: true }),
    },
    { ...O, forceNew: true },
  ),
  name: str("name", 54, { ...R, forceNew: true }),
  labels: set("labels", 60, LABEL_SCHEMA_UPDATABLE, { ...O, computed: true }),
  taskSpec: object(
    "task_spec",
    67,
    {
      containerSpec: object(
        "container_spec",
        74,
        {
          image: str("image", 81, R),
          labels: set("labels", 86, LABEL_SCHEMA, O),
          commands: list("command", 92, "string", O),
          args: list("args", 98, "string", O),
          hostname: str("hostname", 104, O),
          env: map("env", 109, O),
          dir: str("dir", 115, O),
          user: str("user", 120, O),
          groups: list("groups", 125, "string", O),
          privileges: object(
            "privileges",
            131,
            {
              credentialSpec: object("credential_spec", 138, { file: str("file", 145, O), registry: str("registry", 150, O) }, O),
              seLinuxContext: object(
                "se_linux_context",
                158,
                {
                  disable: bool("disable", 165, O),
                  user: str("user", 170, O),
                  role: str("role", 175, O),
                  type: str("type", 180, O),
                  level: str("level", 185, O),
                },
                O,
              ),
            },
            O,
          ),
          readOnly: bool("read_only", 196, O),
          mounts: set(
            "mounts",
            201,
            {
              target: str("target", 207, R),
              source: str("source", 212, O),
              type: str("type", 217, R),
              readOnly: bool("read_only", 223, O),
              bindOptions: object("bind_options", 228, { propagation: str("propagation", 235, { ...O, default: "rprivate" }) }, O),
              volumeOptions: object(
                "volume_options",
                245,
                {
                  noCopy: bool("no_copy", 252, O),
                  labels: set("labels", 257, LABEL_SCHEMA, O),
                  driverName: str("driver_name", 263, O),
                  driverOptions: map("driver_options", 268, O),
                },
                O,
              ),
              tmpfsOptions: object("tmpfs_options", 277, { sizeBytes: int("size_bytes", 284, O), mode: int("mode", 289, O) }, O),
            },
            O,
          ),
          stopSignal: str("stop_signal", 300, O),
          stopGracePeriod: str("stop_grace_period", 305, { ...O, computed: true }),
          healthcheck: object(
            "healthcheck",
            312,
            {
              tests: list("test", 320, "string", O),
              interval: str("interval", 326, { ...O, default: "0s" }),
              timeout: str("timeout", 333, { ...O, default: "0s" }),
              startPeriod: str("start_period", 340, { ...O, default: "0s" }),
              retries: int("retries", 347, { ...O, default: 0 }),
            },
            { ...O, computed: true },
          ),
          hosts: set("hosts", 357, { ip: str("ip", 364, { ...R, forceNew: true }), host: str("host", 371, { ...R, forceNew: true }) }, { ...O, forceNew: true }),
          dnsConfig: object(
            "dns_config",
            380,
            { nameservers: list("nameservers", 388, "string", R), searches: list("search", 394, "string", O), options: list("options", 400, "string", O) },
            { ...O, computed: true },
          ),
          secrets: set(
            "secrets",
            409,
            {
              secretId: str("secret_id", 415, R),
              secretName: str("secret_name", 420, O),
              fileName: str("file_name", 425, R),
              fileUid: str("file_uid", 430, { ...O, default: "0" }),
              fileGid: str("file_gid", 436, { ...O, default: "0" }),
              fileMode: int("file_mode", 442, { ...O, default: 0o444 }),
            },
            O,
          ),
          configs: set(
            "configs",
            452,
            {
              configId: str("config_id", 458, R),
              configName: str("config_name", 463, O),
              fileName: str("file_name", 468, R),
              fileUid: str("file_uid", 473, { ...O, default: "0" }),
              fileGid: str("file_gid", 479, { ...O, default: "0" }),
              fileMode: int("file_mode", 485, { ...O, default: 0o444 }),
            },
            O,
          ),
          isolation: str("isolation", 495, { ...O, default: "default" }),
          sysctl: map("sysctl", 502, { ...O, forceNew: true }),
          capAdds: list("cap_add", 508, "string", O),
          capDrops: list("cap_drop", 514, "string", O),
          init: bool("init", 520, { ...O, computed: true }),
        },
        R,
      ),
      resources: object(
        "resources",
        529,
        {
          limits: object("limits", 537, { nanoCpus: int("nano_cpus", 544, O), memoryBytes: int("memory_bytes", 549, O) }, O),
          reservation: object(
            "reservation",
            557,
            {
              nanoCpus: int("nano_cpus", 564, O),
              memoryBytes: int("memory_bytes", 569, O),
              genericResources: object(
                "generic_resources",
                574,
                { namedResourcesSpecs: set("named_resources_spec", 581, "string", O), discreteResourcesSpecs: set("discrete_resources_spec", 587, "string", O) },
                O,
              ),
            },
            O,
          ),
        },
        { ...O, computed: true },
      ),
      restartPolicy: object(
        "restart_policy",
        602,
        {
          condition: str("condition", 610, O),
          delay: str("delay", 616, O),
          maxAttempts: int("max_attempts", 622, O),
          window: str("window", 628, O),
        },
        { ...O, computed: true },
      ),
      placement: object(
        "placement",
        637,
        {
          constraints: set("constraints", 645, "string", O),
          prefs: set("prefs", 652, "string", O),
          maxReplicas: int("max_replicas", 659, O),
          platforms: set("platforms", 665, { architecture: str("architecture", 671, R), os: str("os", 676, R) }, O),
        },
        { ...O, computed: true },
      ),
      forceUpdate: int("force_update", 687, { ...O, computed: true }),
      runtime: str("runtime", 694, { ...O, computed: true }),
      networksAdvanceds: set(
        "networks_advanced",
        701,
        {
          name: str("name", 707, { ...O, forceNew: true }),
          id: str("id", 714, { ...O, forceNew: true }),
          aliases: set("aliases", 720, "string", { ...O, forceNew: true }),
          driverOpts: set("driver_opts", 728, "string", { ...O, forceNew: true }),
        },
        O,
      ),
      logDriver: object("log_driver", 738, { name: str("name", 745, R), options: map("options", 750, O) }, O),
    },
    R,
  ),
  mode: object(
    "mode",
    762,
    {
      replicated: object("replicated", 771, { replicas: int("replicas", 780, { ...O, default: 1 }) }, { ...O, computed: true }),
      global: bool("global", 790, { ...O, default: false }),
    },
    { ...O, computed: true, forceNew: true },
  ),
  updateConfig: object("update_config", 800, updateOrRollback(807), O),
  rollbackConfig: object("rollback_config", 853, updateOrRollback(860), O),
  endpointSpec: object(
    "endpoint_spec",
    906,
    {
      mode: str("mode", 914, { ...O, computed: true }),
      ports: list(
        "ports",
        921,
        {
          name: str("name", 927, O),
          protocol: str("protocol", 932, { ...O, default: "tcp" }),
          targetPort: int("target_port", 939, R),
          publishedPort: int("published_port", 944, { ...O, computed: true }),
          publishMode: str("publish_mode", 950, { ...O, default: "ingress" }),
        },
        O,
      ),
    },
    { ...O, computed: true },
  ),
  convergeConfig: object("converge_config", 963, { delay: str("delay", 971, { ...O, default: "7s" }), timeout: str("timeout", 978, { ...O, default: "3m" }) }, O),
};

/** resource_docker_secret.go `resourceDockerSecret` (lines 22-46): every field ForceNew, no Update function. */
export const SECRET_SCHEMA: Resource = {
  name: str("name", 23, { ...R, forceNew: true }),
  data: str("data", 30, { ...R, forceNew: true }),
  labels: set("labels", 39, LABEL_SCHEMA, { ...O, forceNew: true }),
};

/** resource_docker_network.go `resourceDockerNetwork` (lines 24-144): every argument ForceNew, no Update function. */
export const NETWORK_SCHEMA: Resource = {
  name: str("name", 25, { ...R, forceNew: true }),
  labels: set("labels", 32, LABEL_SCHEMA, { ...O, forceNew: true }),
  driver: str("driver", 40, { ...O, forceNew: true, computed: true }),
  options: map("options", 48, { ...O, forceNew: true, computed: true }),
  internal: bool("internal", 56, { ...O, computed: true, forceNew: true }),
  attachable: bool("attachable", 64, { ...O, forceNew: true }),
  ingress: bool("ingress", 71, { ...O, forceNew: true }),
  ipv6: bool("ipv6", 78, { ...O, forceNew: true }),
  ipamDriver: str("ipam_driver", 85, { ...O, forceNew: true, default: "default" }),
  ipamOptions: map("ipam_options", 92, { ...O, forceNew: true }),
  ipamConfigs: set(
    "ipam_config",
    99,
    {
      subnet: str("subnet", 108, { ...O, forceNew: true }),
      ipRange: str("ip_range", 115, { ...O, forceNew: true }),
      gateway: str("gateway", 122, { ...O, forceNew: true }),
      auxAddress: map("aux_address", 129, { ...O, forceNew: true }),
    },
    { ...O, computed: true, forceNew: true },
  ),
  scope: str("scope", 139, { computed: true }),
};

// -----------------------------------------------------------------------------------------------------------------
// The SDK's diff

/**
 * One changed attribute, named by its Pulumi path without element positions: `a.b.c` for a field, `a.b.#` and
 * `a.b.%` for the element count of a list or set and of a map, `a.b.*` for a primitive element of one.
 */
export interface AttributeDiff {
  readonly path: string;
  readonly old: string;
  readonly new: string;
  /** finalizeDiff: a ForceNew field whose value changes (or becomes unknown). */
  readonly requiresNew: boolean;
}

/**
 * schemaMap.Diff (schema.go:714-913) between the state an earlier Create/Update/Read left and the configuration, for
 * an existing resource (its id is set, so equal values are no diff). Only attributes whose value changes are
 * returned; the SDK also lists unchanged members of a changed set, which change nothing.
 */
export function diffResource(schema: Resource, state: Plain | undefined, config: Plain): AttributeDiff[] {
  const out: AttributeDiff[] = [];
  diffObject("", schema, state, config, false, out);
  return out;
}

/** Whether any attribute of the diff forces a replacement (InstanceDiff.RequiresNew). */
export function requiresReplacement(diffs: readonly AttributeDiff[]): boolean {
  return diffs.some(diff => diff.requiresNew);
}

/** The unique changed paths, sorted. */
export function changedPaths(diffs: readonly AttributeDiff[]): string[] {
  return [...new Set(diffs.map(diff => diff.path))].sort();
}

/** Whether a changed path (as `AttributeDiff.path` names it) forces a replacement under this schema. */
export function pathForcesNew(schema: Resource, path: string): boolean {
  const parts = path.split(".");
  let resource: Resource | undefined = schema;
  for (let i = 0; i < parts.length; i++) {
    const field: Field | undefined = resource?.[parts[i]];
    if (!field) return false;
    const rest = parts[i + 1];
    if (i === parts.length - 1) return field.forceNew === true;
    if (rest === "#" || rest === "%" || rest === "*") return field.forceNew === true;
    resource = typeof field.elem === "object" ? field.elem : undefined;
  }
  return false;
}

const join = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

function diffObject(prefix: string, schema: Resource, state: Plain | undefined, config: Plain | undefined, all: boolean, out: AttributeDiff[]): void {
  for (const [name, field] of Object.entries(schema)) {
    diffField(join(prefix, name), field, present(state?.[name]), present(config?.[name]), all, out);
  }
}

function present(value: unknown): unknown {
  return value === null ? undefined : value;
}

/** schemaMap.diff (schema.go:1285-1333) by type; DiffSuppressFunc drops a suppressed change. */
function diffField(path: string, field: Field, o: unknown, n: unknown, all: boolean, out: AttributeDiff[]): void {
  switch (field.type) {
    case "string":
    case "int":
    case "bool":
      return diffPrimitive(path, field, o, n, all, out);
    case "object":
    case "list":
      return diffList(path, field, asList(field, o), asList(field, n), all, out);
    case "set":
      return diffSet(path, field, asList(field, o), asList(field, n), all, out);
    case "map":
      return diffMap(path, field, o as Record<string, unknown> | undefined, n as Record<string, unknown> | undefined, out);
  }
}

function asList(field: Field, value: unknown): unknown[] | undefined {
  if (value === undefined) return undefined;
  if (field.type === "object") return [value];
  if (!Array.isArray(value)) throw new Error(`${field.tf}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}

/** The string mapstructure.WeakDecode makes of a primitive (bools as finalizeDiff normalises them). */
function primitiveString(type: Primitive, value: unknown): string {
  if (value === undefined) return "";
  if (type === "bool") return value === true || value === "true" || value === "1" ? "true" : "false";
  if (type === "int") return String(Math.trunc(Number(value)));
  return String(value);
}

const ZERO: Record<Primitive, unknown> = { string: "", int: 0, bool: false };

/** diffString (schema.go:1709-1770) and finalizeDiff (schema.go:542-600). */
function diffPrimitive(path: string, field: Field, o: unknown, n: unknown, all: boolean, out: AttributeDiff[]): void {
  const type = field.type as Primitive;
  // field_reader_config.go: a value missing from the configuration reads as the schema's Default.
  const configured = n === undefined ? field.default : n;
  const raw = configured === undefined && o !== undefined ? ZERO[type] : configured;
  const os = primitiveString(type, o);
  const ns = primitiveString(type, raw);
  if (os === ns && !all) return;
  const removed = o !== undefined && configured === undefined;
  if (removed && field.computed) return;
  // finalizeDiff: a computed value with an old value and no new one "just lets it go".
  if (field.computed && !removed && os !== "" && ns === "") return;
  if (os === ns) return; // an unchanged member of a changed set: no change
  if (field.floatRatio && !all && Number.isFinite(Number.parseFloat(os)) && Number.parseFloat(os) === Number.parseFloat(ns)) return;
  out.push({ path, old: os, new: ns, requiresNew: field.forceNew === true });
}

/** diffList (schema.go:1335-1461); `object` fields are lists of at most one element. */
function diffList(path: string, field: Field, o: unknown[] | undefined, n: unknown[] | undefined, all: boolean, out: AttributeDiff[]): void {
  if (o !== undefined && n === undefined && field.computed) return;
  const os = o ?? [];
  const vs = n ?? [];
  const elem = field.elem!;
  if (!all && n !== undefined && canonical(field, os, false) === canonical(field, vs, true)) return;
  const computedCount = os.length === 0 && vs.length === 0 && field.computed === true;
  if (os.length !== vs.length || computedCount) {
    // finalizeDiff of the count: a computed count with no new value is NewComputed, which a ForceNew list turns into
    // RequiresNew.
    out.push({ path: `${path}.#`, old: computedCount ? "" : String(os.length), new: computedCount ? "" : String(vs.length), requiresNew: field.forceNew === true });
  }
  const length = Math.max(os.length, vs.length);
  for (let i = 0; i < length; i++) {
    if (typeof elem === "object") {
      diffObject(path, elem, os[i] as Plain | undefined, vs[i] as Plain | undefined, all, out);
    } else {
      // A primitive element inherits the list's ForceNew.
      diffPrimitive(`${path}.*`, { tf: field.tf, line: field.line, type: elem, forceNew: field.forceNew }, os[i], vs[i], all, out);
    }
  }
}

/** diffSet (schema.go:1575-1707): elements by hash; removed and new elements are diffed field by field (all = true). */
function diffSet(path: string, field: Field, o: unknown[] | undefined, n: unknown[] | undefined, all: boolean, out: AttributeDiff[]): void {
  if (o !== undefined && n === undefined && field.computed) return;
  const olds = byCode(field, o ?? [], false);
  const news = byCode(field, n ?? [], true);
  if (!all && n !== undefined && sameKeys(olds, news)) return;
  if (n === undefined && field.computed) {
    // A computed set with no state and no configuration: its count becomes NewComputed (finalizeDiff), which a
    // ForceNew set turns into RequiresNew. (GetOk of a zero count is never ok, so the early return never applies.)
    out.push({ path: `${path}.#`, old: "", new: "", requiresNew: field.forceNew === true });
    return;
  }
  if (o === undefined && n === undefined) return;
  if (olds.size !== news.size) {
    out.push({ path: `${path}.#`, old: String(olds.size), new: String(news.size), requiresNew: field.forceNew === true });
  }
  const elem = field.elem!;
  const diffElement = (oldElement: unknown, newElement: unknown) => {
    if (typeof elem === "object") {
      diffObject(path, elem, oldElement as Plain | undefined, newElement as Plain | undefined, true, out);
    } else {
      diffPrimitive(`${path}.*`, { tf: field.tf, line: field.line, type: elem, forceNew: field.forceNew }, oldElement, newElement, true, out);
    }
  };
  for (const [code, element] of olds) if (!news.has(code)) diffElement(element, undefined);
  for (const [code, element] of news) diffElement(olds.get(code), element);
}

/** diffMap (schema.go:1463-1573): the map's own schema (ForceNew included) applies to every key. */
function diffMap(path: string, field: Field, o: Record<string, unknown> | undefined, n: Record<string, unknown> | undefined, out: AttributeDiff[]): void {
  const stateMap = o ?? {};
  const configMap = n ?? {};
  const oldLength = Object.keys(stateMap).length;
  const newLength = Object.keys(configMap).length;
  let changed = oldLength !== newLength;
  if (oldLength !== 0 && newLength === 0 && field.computed) changed = false;
  const computed = oldLength === 0 && newLength === 0 && field.computed === true && o === undefined;
  if (changed || computed) {
    out.push({ path: `${path}.%`, old: computed ? "" : String(oldLength), new: computed ? "" : String(newLength), requiresNew: field.forceNew === true });
  }
  if (n === undefined && field.computed) return;
  for (const [key, value] of Object.entries(configMap)) {
    if (key in stateMap && String(stateMap[key]) === String(value)) continue;
    out.push({ path: `${path}.*`, old: key in stateMap ? String(stateMap[key]) : "", new: String(value), requiresNew: field.forceNew === true });
  }
  for (const [key, value] of Object.entries(stateMap)) {
    if (key in configMap) continue;
    out.push({ path: `${path}.*`, old: String(value), new: "", requiresNew: field.forceNew === true && String(value) !== "" });
  }
}

function sameKeys(a: Map<string, unknown>, b: Map<string, unknown>): boolean {
  return a.size === b.size && [...a.keys()].every(key => b.has(key));
}

function byCode(field: Field, elements: unknown[], fromConfig: boolean): Map<string, unknown> {
  const result = new Map<string, unknown>();
  for (const element of elements) result.set(memberCode(field.elem!, element, fromConfig), element);
  return result;
}

/**
 * serialize.go `SerializeValueForHash` / `SerializeResourceForHash` (the default set hash, HashResource): every
 * optional or required field in name order, a missing one read as the configuration reader gives it (its Default) or,
 * from the state, as its zero value.
 */
function memberCode(elem: Resource | Primitive, value: unknown, fromConfig: boolean): string {
  if (typeof elem !== "object") return primitiveString(elem, value ?? ZERO[elem]);
  const fields = Object.values(elem);
  const allComputed = fields.every(field => !field.optional && !field.required);
  const entries = Object.entries(elem)
    .filter(([, field]) => allComputed || field.optional || field.required)
    .sort(([, a], [, b]) => (a.tf < b.tf ? -1 : a.tf > b.tf ? 1 : 0));
  const plain = (value ?? {}) as Plain;
  return `<${entries.map(([name, field]) => `${field.tf}:${valueCode(field, present(plain[name]), fromConfig)}`).join("")}>;`;
}

function valueCode(field: Field, value: unknown, fromConfig: boolean): string {
  switch (field.type) {
    case "string":
    case "int":
    case "bool": {
      const read = value === undefined && fromConfig ? field.default : value;
      return `${primitiveString(field.type, read ?? ZERO[field.type])};`;
    }
    case "object":
    case "list":
      return `(${(asList(field, value) ?? []).map(member => memberCode(field.elem!, member, fromConfig)).join("")});`;
    case "set":
      return `{${(asList(field, value) ?? []).map(member => memberCode(field.elem!, member, fromConfig)).sort().join("")}};`;
    case "map":
      return `[${Object.keys((value ?? {}) as Plain)
        .sort()
        .map(key => `${key}:${String((value as Plain)[key])};`)
        .join("")}];`;
  }
}

/** The value as the field readers give it (zero-filled), for reflect.DeepEqual of two lists. */
function canonical(field: Field, elements: unknown[], fromConfig: boolean): string {
  return elements.map(element => memberCode(field.elem!, element, fromConfig)).join("");
}
