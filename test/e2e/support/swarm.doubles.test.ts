// The Swarm double (swarm.ts, swarmSchema.ts) against the rules of the real Docker provider
// (kreuzwerker/terraform-provider-docker v4.5.0) and the Terraform plugin SDK it runs on (v2.40.1). Each case names
// the source it follows; the conformance table in README.md lists them. No Engine is needed: what needs one (the
// Engine refusing a published port twice, rolling tasks) is proven on the real swarm in test/e2e/swarm.swarm.test.ts.
import { strict as assert } from "assert";
import {
  convergedSlots,
  diffAgainstState,
  goDurationString,
  networkProvider,
  resolvedInputs,
  secretProvider,
  serviceProvider,
  serviceSpec,
  serviceState,
  shortDur,
  stateOfCreatedService,
} from "./swarm";
import { Field, NETWORK_SCHEMA, pathForcesNew, requiresReplacement, Resource, SECRET_SCHEMA, SERVICE_SCHEMA } from "./swarmSchema";

type Plain = Record<string, unknown>;

/** A service as the package and most programs give it, and the state its Create leaves. */
function baseService(): Plain {
  return {
    labels: [{ label: "component", value: "ids" }],
    taskSpec: {
      containerSpec: {
        image: "sha256:0123",
        env: { ASPNETCORE_URLS: "http://+:80" },
        labels: [{ label: "component", value: "ids" }],
        secrets: [{ secretId: "s1", secretName: "settings-1", fileName: "/app/appsettings.Production.json", fileMode: 0o444 }],
        healthcheck: { tests: ["CMD", "/probe"], interval: "3s", timeout: "3s", startPeriod: "1m", retries: 3 },
      },
      networksAdvanceds: [{ id: "net-1", aliases: ["ids"] }],
      restartPolicy: { condition: "any", delay: "5s", window: "30s" },
    },
    mode: { replicated: { replicas: 2 } },
    updateConfig: { parallelism: 1, delay: "0s", monitor: "15s", order: "start-first", failureAction: "rollback", maxFailureRatio: "0" },
    endpointSpec: { mode: "dnsrr" },
    convergeConfig: { delay: "2s", timeout: "10m" },
  };
}

const created = (inputs: Plain) => stateOfCreatedService("ids-service-1234567", inputs);

/** Deep copy of the base with `change` applied. */
function changed(change: (service: any) => void): Plain {
  const copy = structuredClone(baseService()) as any;
  change(copy);
  return copy;
}

function verdict(state: Plain, inputs: Plain): { paths: string[]; operation: string } {
  const paths = serviceProvider.changedPaths(state, inputs);
  return { paths, operation: paths.length === 0 ? "none" : serviceProvider.diff(paths) };
}

describe("Swarm double: the service's diff follows the provider's schema and the SDK's diff", () => {
  const state = created(baseService());

  it("a second run of the same inputs changes nothing (schema.go diffString: equal values are no diff)", () => {
    assert.deepEqual(verdict(state, baseService()), { paths: [], operation: "none" });
  });

  const cases: Array<[string, (service: any) => void, string[], "update" | "replace"]> = [
    // resource_docker_service.go:86-91 + helpers.go:57-76: container labels use labelSchema, whose label and value are ForceNew.
    ["a container label added (labelSchema ForceNew)", s => s.taskSpec.containerSpec.labels.push({ label: "restart", value: "t1" }), ["taskSpec.containerSpec.labels.#", "taskSpec.containerSpec.labels.label", "taskSpec.containerSpec.labels.value"], "replace"],
    ["a container label's value changed", s => (s.taskSpec.containerSpec.labels[0].value = "other"), ["taskSpec.containerSpec.labels.label", "taskSpec.containerSpec.labels.value"], "replace"],
    ["a container label removed", s => (s.taskSpec.containerSpec.labels = []), ["taskSpec.containerSpec.labels.#", "taskSpec.containerSpec.labels.label", "taskSpec.containerSpec.labels.value"], "replace"],
    // resource_docker_service.go:60-66: the service's own labels are labelSchemaUpdatable (#814, 5c27d970).
    ["a service label added (labelSchemaUpdatable)", s => s.labels.push({ label: "restart", value: "t1" }), ["labels.#", "labels.label", "labels.value"], "update"],
    // resource_docker_service.go:687-693: force_update is an Optional+Computed int, not ForceNew.
    ["taskSpec.forceUpdate set", s => (s.taskSpec.forceUpdate = 7), ["taskSpec.forceUpdate"], "update"],
    // resource_docker_service.go:701-736: every field of networks_advanced is ForceNew.
    ["a network alias changed", s => (s.taskSpec.networksAdvanceds[0].aliases = ["ids-2"]), ["taskSpec.networksAdvanceds.aliases.#", "taskSpec.networksAdvanceds.aliases.*", "taskSpec.networksAdvanceds.id"], "replace"],
    ["a network added", s => s.taskSpec.networksAdvanceds.push({ id: "net-2", aliases: ["ids"] }), ["taskSpec.networksAdvanceds.#", "taskSpec.networksAdvanceds.aliases.#", "taskSpec.networksAdvanceds.aliases.*", "taskSpec.networksAdvanceds.id"], "replace"],
    // resource_docker_service.go:357-379: hosts and its fields are ForceNew.
    ["an extra host added", s => (s.taskSpec.containerSpec.hosts = [{ host: "db", ip: "10.0.0.5" }]), ["taskSpec.containerSpec.hosts.#", "taskSpec.containerSpec.hosts.host", "taskSpec.containerSpec.hosts.ip"], "replace"],
    // resource_docker_service.go:502-507: sysctl is a ForceNew map; schema.go diffMap applies it to every key.
    ["a sysctl set", s => (s.taskSpec.containerSpec.sysctl = { "net.core.somaxconn": "1024" }), ["taskSpec.containerSpec.sysctl.%", "taskSpec.containerSpec.sysctl.*"], "replace"],
    // resource_docker_service.go:245-262: a volume mount's labels use labelSchema (ForceNew).
    [
      "a mount with volume labels added",
      s => (s.taskSpec.containerSpec.mounts = [{ type: "volume", source: "data", target: "/data", volumeOptions: { labels: [{ label: "a", value: "b" }] } }]),
      ["taskSpec.containerSpec.mounts.#", "taskSpec.containerSpec.mounts.source", "taskSpec.containerSpec.mounts.target", "taskSpec.containerSpec.mounts.type", "taskSpec.containerSpec.mounts.volumeOptions.#", "taskSpec.containerSpec.mounts.volumeOptions.labels.#", "taskSpec.containerSpec.mounts.volumeOptions.labels.label", "taskSpec.containerSpec.mounts.volumeOptions.labels.value"],
      "replace",
    ],
    // resource_docker_service.go:201-299: a mount without labels changes nothing ForceNew.
    [
      "a volume mount added",
      s => (s.taskSpec.containerSpec.mounts = [{ type: "volume", source: "data", target: "/data" }]),
      ["taskSpec.containerSpec.mounts.#", "taskSpec.containerSpec.mounts.source", "taskSpec.containerSpec.mounts.target", "taskSpec.containerSpec.mounts.type"],
      "update",
    ],
    // resource_docker_service.go:762-799: mode is ForceNew (its count); replicas is not.
    ["replicas changed", s => (s.mode.replicated.replicas = 3), ["mode.replicated.replicas"], "update"],
    // resource_docker_service.go:54-59: name is ForceNew.
    ["the name given", s => (s.name = "ids-explicit"), ["name"], "replace"],
    // resource_docker_service.go:22-53: auth is a ForceNew block.
    ["registry auth added", s => (s.auth = { serverAddress: "registry.example.com" }), ["auth.#", "auth.serverAddress"], "replace"],
    // Not ForceNew: image, env, secrets, healthcheck, update_config, endpoint_spec, restart_policy, placement.
    ["the image changed", s => (s.taskSpec.containerSpec.image = "sha256:4567"), ["taskSpec.containerSpec.image"], "update"],
    ["an environment variable changed", s => (s.taskSpec.containerSpec.env.ASPNETCORE_URLS = "http://+:8080"), ["taskSpec.containerSpec.env.*"], "update"],
    // A changed set element is the old one removed and a new one added: each of its fields shows.
    [
      "a secret replaced",
      s => (s.taskSpec.containerSpec.secrets[0].secretId = "s2"),
      [
        "taskSpec.containerSpec.secrets.fileGid",
        "taskSpec.containerSpec.secrets.fileMode",
        "taskSpec.containerSpec.secrets.fileName",
        "taskSpec.containerSpec.secrets.fileUid",
        "taskSpec.containerSpec.secrets.secretId",
        "taskSpec.containerSpec.secrets.secretName",
      ],
      "update",
    ],
    ["the health check changed", s => (s.taskSpec.containerSpec.healthcheck.retries = 5), ["taskSpec.containerSpec.healthcheck.retries"], "update"],
    ["the update order changed", s => (s.updateConfig.order = "stop-first"), ["updateConfig.order"], "update"],
    ["the endpoint mode changed", s => (s.endpointSpec = { mode: "vip", ports: [{ targetPort: 80, publishedPort: 8090 }] }), ["endpointSpec.mode", "endpointSpec.ports.#", "endpointSpec.ports.protocol", "endpointSpec.ports.publishMode", "endpointSpec.ports.publishedPort", "endpointSpec.ports.targetPort"], "update"],
    ["placement constraints added", s => (s.taskSpec.placement = { constraints: ["node.role==worker"] }), ["taskSpec.placement.constraints.#", "taskSpec.placement.constraints.*"], "update"],
    // schema.go diffString: Optional+Computed fields missing from the configuration keep the state.
    ["the health check left out (Optional+Computed)", s => delete s.taskSpec.containerSpec.healthcheck, [], "update"],
    ["the restart policy left out (Optional+Computed)", s => delete s.taskSpec.restartPolicy, [], "update"],
    // validators.go:76-90 suppressEquivalentFloatRatio.
    ["max failure ratio 0.0 for 0", s => (s.updateConfig.maxFailureRatio = "0.0"), [], "update"],
    // resource_docker_service_structures.go:289-305 + 1341-1350: the health check's durations are read back short.
    ["a start period of 60s against the 1m read back", s => (s.taskSpec.containerSpec.healthcheck.startPeriod = "60s"), ["taskSpec.containerSpec.healthcheck.startPeriod"], "update"],
    ["an update monitor of 1m read back as 1m", s => (s.updateConfig.monitor = "1m"), ["updateConfig.monitor"], "update"],
  ];

  for (const [title, change, paths, operation] of cases) {
    it(`${title}: ${paths.length === 0 ? "no change" : operation}`, () => {
      const result = verdict(state, changed(change));
      assert.deepEqual(result.paths, paths);
      if (paths.length > 0) assert.equal(result.operation, operation);
    });
  }

  it("forceUpdate missing from the inputs keeps the service's counter, in the diff and in the spec Update sends", () => {
    const withCounter = created(changed(s => (s.taskSpec.forceUpdate = 42)));
    assert.equal((withCounter.taskSpec as any).forceUpdate, 42);
    assert.deepEqual(verdict(withCounter, baseService()).paths, []);
    const resolved = resolvedInputs(SERVICE_SCHEMA, { ...changed(s => (s.taskSpec.containerSpec.image = "sha256:4567")), name: "n" }, withCounter);
    assert.equal((serviceSpec("n", resolved).TaskTemplate as any).ForceUpdate, 42);
  });

  it("an auto-named service keeps its name (the bridge reuses the old default)", () => {
    assert.equal(state.name, "ids-service-1234567");
    assert.deepEqual(diffAgainstState(SERVICE_SCHEMA, state, baseService()), []);
  });

  it("a changed mount source with volume labels replaces the service: a set element is removed and added whole (schema.go diffSet)", () => {
    const withMount = (source: string) =>
      changed(s => (s.taskSpec.containerSpec.mounts = [{ type: "volume", source, target: "/data", volumeOptions: { labels: [{ label: "a", value: "b" }] } }]));
    const result = verdict(created(withMount("one")), withMount("two"));
    assert.equal(result.operation, "replace");
    assert.ok(result.paths.includes("taskSpec.containerSpec.mounts.volumeOptions.labels.label"));
  });
});

/** Every leaf of a schema: its Pulumi path and field. */
function leaves(schema: Resource, prefix = ""): Array<[string, Field, string[]]> {
  const result: Array<[string, Field, string[]]> = [];
  for (const [name, field] of Object.entries(schema)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (typeof field.elem === "object") {
      for (const [sub, leaf, chain] of leaves(field.elem, path)) result.push([sub, leaf, [name, ...chain]]);
    } else {
      result.push([path, field, [name]]);
    }
  }
  return result;
}

/** `base` with `overlay` merged in: objects field by field, anything else replaced. */
function merged(base: unknown, overlay: unknown): unknown {
  if (base && overlay && typeof base === "object" && typeof overlay === "object" && !Array.isArray(base) && !Array.isArray(overlay)) {
    const result: Plain = { ...(base as Plain) };
    for (const [key, value] of Object.entries(overlay as Plain)) result[key] = merged(result[key], value);
    return result;
  }
  return overlay;
}

/**
 * What a resource's state holds after Read, and the least its configuration must give, for each schema: the sweep
 * starts from these (the SDK sees a ForceNew+Computed block missing from both state and configuration as a new
 * computed value, which never happens once Read has run).
 */
const REALISTIC: Array<[string, Resource, Plain, Plain]> = [
  ["Service (resource_docker_service.go)", SERVICE_SCHEMA, created({ taskSpec: { containerSpec: { image: "img" } } }), { taskSpec: { containerSpec: { image: "img" } } }],
  ["Secret (resource_docker_secret.go)", SECRET_SCHEMA, { name: "s-1", data: "eA==", labels: [] }, { data: "eA==" }],
  [
    "Network (resource_docker_network.go)",
    NETWORK_SCHEMA,
    { name: "n-1", labels: [], driver: "overlay", internal: false, attachable: false, ingress: false, ipv6: false, ipamDriver: "default", options: {}, ipamConfigs: [], scope: "swarm" },
    {},
  ],
];

/** A value with only this leaf set, nested as the schema nests it (objects, and one-element lists and sets). */
function nested(schema: Resource, chain: readonly string[], value: unknown): Plain {
  const [head, ...rest] = chain;
  const field = schema[head];
  if (rest.length === 0) return { [head]: value };
  const inner = nested(field.elem as Resource, rest, value);
  return { [head]: field.type === "object" ? inner : [inner] };
}

function sample(field: Field, which: 0 | 1): unknown {
  const primitive = typeof field.elem === "string" ? field.elem : field.type;
  const one = primitive === "int" ? [1, 2][which] : primitive === "bool" ? [true, false][which] : ["a", "b"][which];
  if (field.type === "map") return { key: one };
  if (field.type === "list" || field.type === "set") return [one];
  return one;
}

describe("Swarm double: every field of the three schemas, changed alone, is replaced exactly when it is ForceNew", () => {
  for (const [title, schema, state, config] of REALISTIC) {
    it(`${title}: ${leaves(schema).filter(([, f]) => f.forceNew).length} ForceNew of ${leaves(schema).length} fields`, () => {
      assert.deepEqual(diffAgainstState(schema, state, config), [], "the starting point itself is no change");
      for (const [path, field, chain] of leaves(schema)) {
        if (field.computed && !field.optional) continue; // not an argument (the network's scope)
        const before = merged(state, nested(schema, chain, sample(field, 0))) as Plain;
        const after = merged(config, nested(schema, chain, sample(field, 1))) as Plain;
        const diffs = diffAgainstState(schema, before, after);
        assert.ok(diffs.length > 0, `${path}: a change is seen`);
        assert.equal(requiresReplacement(diffs), field.forceNew === true, `${path} (line ${field.line}): ForceNew ${field.forceNew === true}`);
        for (const diff of diffs) assert.equal(pathForcesNew(schema, diff.path), diff.requiresNew, `${diff.path}: the path names its own rule`);
      }
    });
  }

  it("the Secret and the Network have no Update: any change the diff sees is a replacement", () => {
    assert.equal(secretProvider.diff(["data"]), "replace");
    assert.equal(networkProvider.diff(["attachable"]), "replace");
  });

  it("a Network's Optional+Computed arguments left out keep their state; attachable (not Computed) left out is a change", () => {
    const state = { name: "net-1", driver: "overlay", attachable: true, internal: false, options: { vxlan: "4097" }, ipamDriver: "default", labels: [], ipamConfigs: [{ subnet: "10.0.1.0/24" }] };
    assert.deepEqual(diffAgainstState(NETWORK_SCHEMA, state, { attachable: true }), []);
    const dropped = diffAgainstState(NETWORK_SCHEMA, state, {});
    assert.deepEqual(dropped.map(d => d.path), ["attachable"]);
    assert.ok(requiresReplacement(dropped));
  });
});

describe("Swarm double: the service's spec, Read-back and convergence as the provider has them", () => {
  it("sends ForceUpdate, and the fields the provider always sends (structures.go createContainerSpec, createServiceTaskSpec)", () => {
    const spec = serviceSpec("ids", resolvedInputs(SERVICE_SCHEMA, { taskSpec: { containerSpec: { image: "img" }, forceUpdate: 9 } }, undefined)) as any;
    assert.equal(spec.TaskTemplate.ForceUpdate, 9);
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Healthcheck, {});
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.DNSConfig, {});
    assert.equal(spec.TaskTemplate.ContainerSpec.StopGracePeriod, 0);
    assert.equal(spec.TaskTemplate.ContainerSpec.Init, false);
    assert.equal(spec.TaskTemplate.ContainerSpec.Isolation, "default");
    assert.deepEqual(spec.TaskTemplate.Resources, {});
    assert.deepEqual(spec.TaskTemplate.RestartPolicy, {});
    assert.equal(spec.UpdateConfig, undefined, "update_config only when given (GetOk)");
  });

  it("applies the schema defaults (secret file owner and mode, update config, port protocol)", () => {
    const spec = serviceSpec(
      "ids",
      resolvedInputs(
        SERVICE_SCHEMA,
        {
          taskSpec: { containerSpec: { image: "img", secrets: [{ secretId: "s", fileName: "/f" }] } },
          updateConfig: {},
          endpointSpec: { ports: [{ targetPort: 80 }] },
        },
        undefined,
      ),
    ) as any;
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Secrets[0].File, { Name: "/f", UID: "0", GID: "0", Mode: 0o444 });
    assert.deepEqual(spec.UpdateConfig, { Parallelism: 1, Delay: 0, FailureAction: "pause", Monitor: 5e9, MaxFailureRatio: 0, Order: "stop-first" });
    assert.deepEqual(spec.EndpointSpec.Ports, [{ Name: "", Protocol: "tcp", TargetPort: 80, PublishedPort: 0, PublishMode: "ingress" }]);
  });

  it("reads durations back in Go's form, shortened (structures.go:1341-1350 shortDur)", () => {
    assert.equal(goDurationString(60e9), "1m0s");
    assert.equal(shortDur(60e9), "1m");
    assert.equal(shortDur(3600e9), "1h");
    assert.equal(shortDur(90e9), "1m30s");
    assert.equal(shortDur(5400e9), "1h30m");
    assert.equal(shortDur(1.5e9), "1.5s");
    assert.equal(shortDur(5e8), "500ms");
    assert.equal(shortDur(0), "0s");
  });

  it("reads the allocated endpoint when the Engine shows one, the spec's otherwise (funcs.go:153-163)", () => {
    const spec = serviceSpec("ids", resolvedInputs(SERVICE_SCHEMA, { taskSpec: { containerSpec: { image: "img" } }, endpointSpec: { mode: "vip" } }, undefined));
    const allocated = serviceState(spec, { Spec: { Mode: "vip" }, Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 30000, PublishMode: "ingress" }] }, {});
    assert.deepEqual((allocated.endpointSpec as any).ports, [{ name: "", protocol: "tcp", targetPort: 80, publishedPort: 30000, publishMode: "ingress" }]);
    assert.deepEqual((serviceState(spec, undefined, {}).endpointSpec as any).ports, []);
  });

  type Task = Parameters<typeof convergedSlots>[0][number];
  const task = (slot: number, desired: string, state: string, node = "n1"): Task => ({ Slot: slot, NodeID: node, DesiredState: desired, Status: { State: state } });

  it("counts a slot as running only when its most recent task runs (funcs.go:510-595 tasksBySlot)", () => {
    const nodes = new Set(["n1"]);
    // A start-first update of slot 1: the new task is starting next to the old running one.
    assert.deepEqual(convergedSlots([task(1, "running", "running"), task(1, "running", "starting"), task(2, "running", "running")], 2, nodes), { running: 1, converged: false });
    // Between two slots of a rolling update every slot runs a task: the provider's Update returns here, while Swarm
    // is still updating (funcs.go:434-471: `updating` falls through to the count).
    assert.deepEqual(convergedSlots([task(1, "running", "running"), task(2, "running", "running")], 2, nodes), { running: 2, converged: true });
    // Tasks in states the provider does not number, or on a node that is down, do not count.
    assert.equal(convergedSlots([task(1, "running", "running"), task(2, "running", "orphaned")], 2, nodes).running, 1);
    assert.equal(convergedSlots([task(1, "running", "running"), task(2, "running", "running", "gone")], 2, nodes).running, 1);
  });

  it("refuses secret data that is not base64 (validators.go:145-159), without echoing it", async () => {
    await assert.rejects(secretProvider.create("s", { data: "not base64!" }), (error: Error) => /not base64 decodeable/.test(error.message) && !error.message.includes("not base64!"));
  });
});
