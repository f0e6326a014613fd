// The Swarm resources of @pulumi/docker for the test executor (executor.ts): Network, Secret and Service, written
// from the provider's source (kreuzwerker/terraform-provider-docker v4.5.0, internal/provider/, which pulumi-docker
// bridges) and performed for real through the Docker Engine API, as the provider does (it uses the Engine's Go client).
//
// - Auto-naming: pulumi-docker names a Service, Secret or Network `<logical name>-<7 random characters>` when `name`
//   is not given (provider/resources.go `SetAutonaming(255, "-")`); a replacement gets a fresh name.
// - Replacement order: none of the three is DeleteBeforeReplace (only docker_container is, resources.go), so a
//   replacement creates the new resource first and deletes the old one after the program finished.
// - Network (resource_docker_network*.go): every argument is ForceNew; Delete retries while the network still has
//   endpoints (task containers leave asynchronously). A swarm network may still be listed for a moment after its
//   removal was accepted (the manager deletes it once no task uses it).
// - Secret (resource_docker_secret.go): every argument is ForceNew and there is no Update; `data` is base64.
// - Service (resource_docker_service*.go): `name`, `taskSpec.networksAdvanceds` and `taskSpec.containerSpec.hosts`
//   are ForceNew, everything else is an in-place ServiceUpdate of the whole spec at the inspected version. With
//   `convergeConfig`, Create waits until as many tasks are `running` as `replicas` (a task with a health check is
//   `starting` until healthy), and Update waits for UpdateStatus `completed` (or, without one, for the running count);
//   `rollback_completed`, `paused` and `rollback_paused` fail the update with the provider's messages. The provider
//   asks the registry for the image digest (QueryRegistry); no registry is reachable here, so images are given by
//   their local id, which the Engine runs as it is. Delete removes the service without waiting for its containers
//   (the provider waits only with a `stopGracePeriod`); the Network's Delete then retries until they are gone.
import * as crypto from "crypto";
import * as http from "http";

type Plain = Record<string, unknown>;

/** The subset of the executor's provider contract these resources use (see executor.ts `Provider`). */
export interface SwarmProvider {
  readonly schema: { [argument: string]: true | "map" | "any" | SwarmProvider["schema"] };
  diff(changed: readonly string[]): "update" | "replace";
  create(name: string, inputs: Plain): Promise<{ id: string; outputs: Plain }>;
  update(old: { id: string; inputs: Plain; outputs: Plain }, inputs: Plain): Promise<Plain>;
  delete(entry: { id: string; outputs: Plain }): Promise<void>;
}

const API_VERSION = "v1.41"; // Docker Engine 20.10, the engine this machine runs

function socketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) return "/var/run/docker.sock";
  if (!host.startsWith("unix://")) throw new Error(`the Swarm test resources talk to a local Unix socket only, not DOCKER_HOST=${host}`);
  return host.slice("unix://".length);
}

/** One Engine API call; rejects with the Engine's message on any status >= 400. */
export function engine<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const request = http.request(
      {
        socketPath: socketPath(),
        path: `/${API_VERSION}${path}`,
        method,
        headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {},
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

function labelMap(labels: unknown): Record<string, string> {
  return Object.fromEntries(((labels as Plain[] | undefined) ?? []).map(l => [String(l.label), String(l.value)]));
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

// -----------------------------------------------------------------------------------------------------------------
// Network

export const networkProvider: SwarmProvider = {
  schema: { name: true, driver: true, attachable: true, internal: true, labels: { label: true, value: true } },
  diff: () => "replace",
  async create(name, inputs) {
    const networkName = typeof inputs.name === "string" ? inputs.name : autoName(name);
    const created = await engine<{ Id: string }>("POST", "/networks/create", {
      Name: networkName,
      Driver: inputs.driver ?? "bridge",
      Attachable: inputs.attachable === true,
      Internal: inputs.internal === true,
      Labels: labelMap(inputs.labels),
      CheckDuplicate: true,
    });
    return { id: created.Id, outputs: { ...inputs, name: networkName } };
  },
  async update() {
    throw new Error("every Network argument forces a replacement");
  },
  async delete(entry) {
    // resourceDockerNetworkRemoveRefreshFunc: after 2 s, every 5 s for 30 s at most: gone -> done; remove; "has active
    // endpoints" (the tasks' containers are still being removed) -> again; any other error fails.
    const deadline = Date.now() + 30_000;
    await sleep(2000);
    for (;;) {
      try {
        await engine("GET", `/networks/${entry.id}`);
      } catch (err) {
        if (err instanceof EngineError && err.status === 404) return;
        throw err;
      }
      try {
        await engine("DELETE", `/networks/${entry.id}`);
        return;
      } catch (err) {
        if (!(err instanceof Error && /has active endpoints/.test(err.message)) || Date.now() > deadline) throw err;
        await sleep(5000);
      }
    }
  },
};

// -----------------------------------------------------------------------------------------------------------------
// Secret

export const secretProvider: SwarmProvider = {
  schema: { name: true, data: true, labels: { label: true, value: true } },
  diff: () => "replace",
  async create(name, inputs) {
    if (typeof inputs.data !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(inputs.data)) throw new Error("data must be base64");
    const secretName = typeof inputs.name === "string" ? inputs.name : autoName(name);
    const created = await engine<{ ID: string }>("POST", "/secrets/create", { Name: secretName, Data: inputs.data, Labels: labelMap(inputs.labels) });
    return { id: created.ID, outputs: { ...inputs, name: secretName } };
  },
  async update() {
    throw new Error("every Secret argument forces a replacement");
  },
  async delete(entry) {
    try {
      await engine("DELETE", `/secrets/${entry.id}`);
    } catch (err) {
      if (!(err instanceof EngineError && err.status === 404)) throw err;
    }
  },
};

// -----------------------------------------------------------------------------------------------------------------
// Service

const SERVICE_FORCE_NEW = new Set(["name"]);
const SERVICE_FORCE_NEW_IN_TASK_SPEC = ["networksAdvanceds", "containerSpec.hosts"];

interface ServiceInspect {
  ID: string;
  Version: { Index: number };
  Spec: { Mode?: { Replicated?: { Replicas?: number } } };
  UpdateStatus?: { State?: string; Message?: string };
}
interface TaskInspect {
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

function updateOrRollbackConfig(config: Plain | undefined) {
  if (!config) return undefined;
  return {
    Parallelism: config.parallelism === undefined ? undefined : Number(config.parallelism),
    Delay: goDurationNs(config.delay),
    FailureAction: config.failureAction,
    Monitor: goDurationNs(config.monitor),
    MaxFailureRatio: config.maxFailureRatio === undefined ? undefined : Number(config.maxFailureRatio),
    Order: config.order,
  };
}

function resourcesSpec(resources: Plain | undefined) {
  if (!resources) return undefined;
  const part = (value: Plain | undefined) => value && { NanoCPUs: value.nanoCpus, MemoryBytes: value.memoryBytes };
  return { Limits: part(resources.limits as Plain | undefined), Reservations: part(resources.reservation as Plain | undefined) };
}

/** The provider's createServiceSpec for the arguments this package uses (resource_docker_service_structures.go). */
export function serviceSpec(serviceName: string, inputs: Plain) {
  const task = (inputs.taskSpec ?? {}) as Plain;
  const container = (task.containerSpec ?? {}) as Plain;
  const health = container.healthcheck as Plain | undefined;
  const restart = task.restartPolicy as Plain | undefined;
  const endpoint = inputs.endpointSpec as Plain | undefined;
  const placement = task.placement as Plain | undefined;
  return {
    Name: serviceName,
    Labels: labelMap(inputs.labels),
    TaskTemplate: {
      ContainerSpec: {
        Image: container.image,
        Labels: labelMap(container.labels),
        Env: Object.entries((container.env as Record<string, string> | undefined) ?? {}).map(([key, value]) => `${key}=${value}`),
        Secrets: ((container.secrets as Plain[] | undefined) ?? []).map(secret => ({
          SecretID: secret.secretId,
          SecretName: secret.secretName,
          File: { Name: secret.fileName, UID: String(secret.fileUid ?? "0"), GID: String(secret.fileGid ?? "0"), Mode: Number(secret.fileMode ?? 0o444) },
        })),
        Healthcheck: health && {
          Test: health.tests,
          Interval: goDurationNs(health.interval),
          Timeout: goDurationNs(health.timeout),
          StartPeriod: goDurationNs(health.startPeriod),
          Retries: health.retries,
        },
      },
      Networks: ((task.networksAdvanceds as Plain[] | undefined) ?? []).map(network => ({ Target: network.id ?? network.name, Aliases: network.aliases })),
      Placement: placement && { Constraints: placement.constraints },
      Resources: resourcesSpec(task.resources as Plain | undefined),
      RestartPolicy: restart && {
        Condition: restart.condition,
        Delay: goDurationNs(restart.delay),
        MaxAttempts: restart.maxAttempts,
        Window: goDurationNs(restart.window),
      },
      ForceUpdate: task.forceUpdate,
    },
    Mode: { Replicated: { Replicas: Number((((inputs.mode as Plain | undefined)?.replicated as Plain | undefined)?.replicas as number | undefined) ?? 1) } },
    UpdateConfig: updateOrRollbackConfig(inputs.updateConfig as Plain | undefined),
    RollbackConfig: updateOrRollbackConfig(inputs.rollbackConfig as Plain | undefined),
    EndpointSpec: endpoint && {
      Mode: endpoint.mode,
      Ports: ((endpoint.ports as Plain[] | undefined) ?? []).map(port => ({
        Protocol: port.protocol ?? "tcp",
        TargetPort: port.targetPort,
        PublishedPort: port.publishedPort,
        PublishMode: port.publishMode ?? "ingress",
      })),
    },
  };
}

async function runningTasks(serviceId: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ service: [serviceId], "desired-state": ["running"] }));
  const tasks = await engine<TaskInspect[]>("GET", `/tasks?filters=${filters}`);
  // The provider's tasksBySlot + count: one task per slot, running and meant to run.
  const bySlot = new Map<number, TaskInspect>();
  for (const task of tasks) {
    const slot = task.Slot ?? 0;
    const existing = bySlot.get(slot);
    if (!existing || (existing.Status.State !== "running" && task.Status.State === "running")) bySlot.set(slot, task);
  }
  return [...bySlot.values()].filter(task => task.DesiredState === "running" && task.Status.State === "running").length;
}

function convergeTimeoutMs(inputs: Plain): number | undefined {
  const converge = inputs.convergeConfig as Plain | undefined;
  if (!converge) return undefined;
  return (goDurationNs(converge.timeout ?? "3m") ?? 0) / 1e6;
}

async function waitForCreate(serviceId: string, inputs: Plain): Promise<void> {
  const timeout = convergeTimeoutMs(inputs);
  if (timeout === undefined) return; // fire and forget
  const deadline = Date.now() + timeout;
  await sleep((goDurationNs((inputs.convergeConfig as Plain).delay ?? "7s") ?? 0) / 1e6);
  for (;;) {
    const service = await engine<ServiceInspect>("GET", `/services/${serviceId}`);
    if ((await runningTasks(serviceId)) === (service.Spec.Mode?.Replicated?.Replicas ?? 0)) return;
    if (Date.now() > deadline) {
      // The provider deletes a service that did not converge on create.
      await engine("DELETE", `/services/${serviceId}`).catch(() => undefined);
      throw new Error(`did not converge after ${(inputs.convergeConfig as Plain).timeout}`);
    }
    await sleep(1000);
  }
}

async function waitForUpdate(serviceId: string, inputs: Plain): Promise<void> {
  const timeout = convergeTimeoutMs(inputs);
  if (timeout === undefined) return;
  const deadline = Date.now() + timeout;
  await sleep(7000); // the provider's first poll comes after 7 s
  for (;;) {
    const service = await engine<ServiceInspect>("GET", `/services/${serviceId}`);
    const status = service.UpdateStatus;
    let rollback = false;
    switch (status?.State) {
      case "completed":
        return;
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
    if ((await runningTasks(serviceId)) === (service.Spec.Mode?.Replicated?.Replicas ?? 0)) {
      if (rollback) throw new Error(`service rollback completed: ${status?.Message ?? ""}`);
      if (status === undefined || status.State !== "updating") return;
    }
    if (Date.now() > deadline) throw new Error(`did not converge after ${(inputs.convergeConfig as Plain).timeout}`);
    await sleep(5000); // the provider's MinTimeout
  }
}

export const serviceProvider: SwarmProvider & { changedPaths(old: Plain, news: Plain): string[] } = {
  schema: {
    name: true,
    labels: { label: true, value: true },
    taskSpec: "any",
    mode: "any",
    updateConfig: "any",
    rollbackConfig: "any",
    endpointSpec: "any",
    convergeConfig: "any",
  },
  changedPaths(old, news) {
    const changed: string[] = [];
    for (const key of new Set([...Object.keys(old), ...Object.keys(news)])) {
      if (JSON.stringify(old[key]) !== JSON.stringify(news[key])) changed.push(key);
    }
    const oldTask = (old.taskSpec ?? {}) as Plain;
    const newTask = (news.taskSpec ?? {}) as Plain;
    for (const path of SERVICE_FORCE_NEW_IN_TASK_SPEC) {
      const pick = (task: Plain) => path.split(".").reduce<unknown>((node, part) => (node as Plain | undefined)?.[part], task);
      if (JSON.stringify(pick(oldTask)) !== JSON.stringify(pick(newTask))) changed.push(`taskSpec.${path}`);
    }
    return changed;
  },
  diff: changed => (changed.some(key => SERVICE_FORCE_NEW.has(key) || SERVICE_FORCE_NEW_IN_TASK_SPEC.some(p => key === `taskSpec.${p}`)) ? "replace" : "update"),
  async create(name, inputs) {
    const serviceName = typeof inputs.name === "string" ? inputs.name : autoName(name);
    const created = await engine<{ ID: string }>("POST", "/services/create", serviceSpec(serviceName, inputs));
    await waitForCreate(created.ID, inputs);
    return { id: created.ID, outputs: { ...inputs, name: serviceName } };
  },
  async update(old, inputs) {
    const serviceName = String(old.outputs.name);
    const current = await engine<ServiceInspect>("GET", `/services/${old.id}`);
    await engine("POST", `/services/${old.id}/update?version=${current.Version.Index}`, serviceSpec(serviceName, inputs));
    await waitForUpdate(old.id, inputs);
    return { ...inputs, name: serviceName };
  },
  async delete(entry) {
    try {
      await engine("DELETE", `/services/${entry.id}`);
    } catch (err) {
      if (err instanceof EngineError && err.status === 404) return;
      throw err;
    }
  },
};
