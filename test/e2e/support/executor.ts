// A test-only stand-in for the Pulumi engine and for the providers this package uses, for machines without the
// Pulumi CLI or provider plugins. It drives a real Pulumi program through `pulumi.runtime.setMocks`: every resource
// the program registers is created, updated, replaced or deleted for real (random values, `docker build`, containers,
// Swarm services, secrets and networks (swarm.ts), local commands) and the real resulting state goes back to the
// program. State is kept between runs like an engine keeps it, so a second run with the same inputs performs nothing.
//
// Anything it does not implement (a resource type, an argument, a resource option, an invoke) is refused with an
// error that lists it: a test can never pass because something was silently ignored.
//
// Ordering: under mocks the SDK itself waits for a resource's dependencies (its `dependsOn` and the resources behind
// its input Outputs) before it registers the resource, because it awaits their URNs, and a URN resolves only once the
// mock's `newResource` has returned. `newResource` here returns only when the real operation finished, so dependencies
// are done first. The executor does not rely on that silently: it reads each registration's dependency list (from the
// request the SDK sends to the mock monitor) and fails a resource registered before its dependencies finished.
// Resource options are captured with a stack transformation (deleteBeforeReplace, additionalSecretOutputs and
// replaceOnChanges are applied as the engine applies them; the others are refused when set).
//
// What is emulated rather than real: the engine's bookkeeping (state, diffs, replacement order, deletes of resources
// the program dropped, destroy order: dependents first), the providers' diffs (re-implemented from their source, cited
// at each provider below). The rules the engine emulator's providers apply too (random keepers, command ids and
// triggers, the Container's in-place arguments, sets, defaults and Read-back, the RemoteImage and Image diffs, the
// build context digest, replaceOnChanges paths) are imported from test/emulator/providers/rules.ts and
// test/emulator/propertyPaths.ts, one implementation for both doubles; test/emulator/README.md lists each rule with
// its source line and the test that pins it. Images are pulled for real only from registries on loopback (test/e2e/support/registry.ts);
// any other registry is unreachable here, so such a RemoteImage must already be on the local Docker Engine. Previews
// are not implemented.
//
// Engine rules, from pulumi/pulumi pkg/resource/deploy (step_generator.go, step_executor.go):
// - The old resource of a create-before-delete replacement is deleted after the program finished, with the deletes
//   of the resources it dropped (GenerateDeletes: "Planner decided to delete '%v' due to replacement",
//   step_generator.go:2210-2241 @ v3.248.0). When the run fails first, it stays in state marked for deletion and is
//   deleted at the end of the next successful run, never diffed against (deployment.go:521-524 skips it).
// - An output is secret when it is listed in additionalSecretOutputs or its same-named input was a secret as a whole;
//   providers may mark more (the command provider: any same-named input that contains a secret).
// - `run(program, { refresh: true })` reads every resource back first, like `pulumi up --refresh`; `replace` forces
//   replacements, like `pulumi up --replace <urn>`.
// - Like the Pulumi CLI, the program runs in the providers' working directory (`cwd`) and is told the project root;
//   `inlineProgram` runs it like an Automation API inline program instead: in the host's working directory, not told
//   the root, while the providers still run in `cwd`.
import { execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  CONTAINER_DELETE_BEFORE_REPLACE, HOST_ARCHITECTURE, InspectedContainer, commandId, commandReplaceKeys, containerChangedKeys,
  containerCreateRequest, containerDefaults, containerReadBack, containerReplaceKeys, hashContext, randomReplaceKeys, remoteImageReplaceKeys, stableJson,
} from "../../emulator/providers/rules";
import { replaceOnChangesKeys } from "../../emulator/propertyPaths";
import { engineRequest } from "../../emulator/providers/engineApi";
import { networkProvider, secretProvider, serviceProvider } from "./swarm";

type Plain = Record<string, unknown>;

/** As the engine names its steps; `delete-replaced` removes the old resource of a create-before-delete replacement. */
export type OperationKind = "create" | "update" | "replace" | "delete" | "delete-replaced";

/** One provider operation, as an engine would report it. */
export interface Operation {
  /** Number of the run (1, 2, ...) or of the destroy that performed it. */
  readonly run: number;
  readonly kind: OperationKind;
  readonly type: string;
  readonly name: string;
  /** `performance.now()` at start and end, to check ordering and to time steps. */
  readonly startedAt: number;
  endedAt: number;
  ok: boolean;
  error?: string;
  /** Properties whose change caused an update or a replacement. */
  readonly changed: readonly string[];
}

export interface RunResult {
  /** The program's outputs, resolved (secrets unwrapped). */
  readonly outputs: Record<string, unknown>;
  /** Names of the outputs that are secrets. */
  readonly secretOutputs: readonly string[];
  /** The operations this run performed, in the order they started. */
  readonly operations: readonly Operation[];
  readonly durationMs: number;
}

/** A failed run ("update failed"): every failure, and what was performed before the failure. */
export class RunError extends Error {
  constructor(
    message: string,
    readonly failures: readonly string[],
    readonly operations: readonly Operation[],
    readonly durationMs: number,
  ) {
    super(message);
    this.name = "RunError";
  }
}

/** What the executor keeps per resource, like a stack's checkpoint. */
export interface ResourceEntry {
  readonly key: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly id: string;
  /** Checked inputs (secrets unwrapped), as the provider's Check returned them. */
  readonly inputs: Plain;
  /** Top-level inputs that were secrets as a whole. */
  readonly secretInputs: readonly string[];
  /** Top-level inputs that held a secret somewhere inside. */
  readonly nestedSecretInputs: readonly string[];
  readonly outputs: Plain;
  /** Keys of the resources this one depends on (explicit and through its inputs). */
  readonly dependencies: readonly string[];
  readonly options: CapturedOptions;
  /** Creation order. */
  readonly seq: number;
}

export interface ExecutorOptions {
  /** Project and stack names of the mocks. Default: "creatio-identity-service-e2e" and "e2e". */
  readonly project?: string;
  readonly stack?: string;
  /** Directory the providers (and, like the CLI, the program) run in. Default: the working directory of each run. */
  readonly cwd?: string;
  /** Run programs like Automation API inline programs: in the host's working directory, not told the project root. */
  readonly inlineProgram?: boolean;
  /** Receives one line per operation. Default: none. */
  readonly log?: (line: string) => void;
  /** A local command still running after this long is killed and fails. Default: 15 minutes. */
  readonly commandTimeoutMs?: number;
}

/** Options of one run. */
export interface RunOptions {
  /** Read every resource back from the real world before the program runs (`pulumi up --refresh`). */
  readonly refresh?: boolean;
  /** Resources to replace whatever their diff, as "type::name" (`pulumi up --replace <urn>`). */
  readonly replace?: readonly string[];
  /** This run's working directory instead of the executor's `cwd`: the same program in another checkout. */
  readonly cwd?: string;
}

/** The resource options the executor implements; the others are refused when set. */
export interface CapturedOptions {
  readonly deleteBeforeReplace?: boolean;
  readonly additionalSecretOutputs?: readonly string[];
  /** Property paths whose change forces a replacement (`triggers[*]`, `*`): the engine applies them to the diff. */
  readonly replaceOnChanges?: readonly string[];
}

/** Component resources (no provider operation) the executor accepts. */
const COMPONENT_TYPES = new Set([
  "pulumi:pulumi:Stack",
  "creatio-identity-service:index:IdentityService",
  "creatio-identity-service:index:CreatioOAuthConnection",
]);

/** Resource options with no effect on what the executor does, or handled by the SDK before registration. */
const IGNORED_OPTIONS = new Set(["parent", "dependsOn", "version", "pluginDownloadURL", "transformations", "id", "urn"]);
const IMPLEMENTED_OPTIONS = new Set(["deleteBeforeReplace", "additionalSecretOutputs", "replaceOnChanges", "aliases"]);

/** The Pulumi runtime is global: one run at a time, whatever the executor. */
let runInProgress = false;

/** Executors with something to clean up; one pair of process listeners serves them all. */
const live = new Set<Executor>();

// Rejections of the SDK's Outputs of a resource an executor failed on purpose are expected: nobody awaits most of
// them. Swallow exactly those; anything else is left to the test runner (or crashes, as Node would without us).
function onUnhandledRejection(reason: unknown): void {
  const message = errorMessage(reason);
  if ([...live].some(executor => executor.causedFailure(message))) return;
  if (process.listenerCount("unhandledRejection") === 1) throw reason;
}

/** Last resort when the process exits without `cleanup()` (an interrupted test run): remove the containers. */
function onExit(): void {
  for (const executor of live) executor.removeContainersSync();
}

export class Executor {
  private readonly entries = new Map<string, ResourceEntry>();
  /** Old resources of create-before-delete replacements whose delete has not run yet (the engine's `delete: true`). */
  private readonly pendingDeletes: ResourceEntry[] = [];
  private readonly allOperations: Operation[] = [];
  private runCount = 0;
  private seq = 0;
  private readonly createdContainers = new Set<string>();
  private readonly containerLabels = new Set<string>();
  /** Tags it built and references it pulled. */
  private readonly builtImages = new Set<string>();
  private readonly failureMessages = new Set<string>();

  constructor(private readonly options: ExecutorOptions = {}) {}

  /** Every operation performed so far, across runs and destroys. */
  get operations(): readonly Operation[] {
    return this.allOperations;
  }

  /** The current state: one entry per resource, in creation order. */
  get state(): readonly ResourceEntry[] {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Old resources of replacements still waiting for their delete. */
  get pending(): readonly ResourceEntry[] {
    return [...this.pendingDeletes];
  }

  /** The state of one resource by type and name, or undefined. */
  resource(type: string, name: string): ResourceEntry | undefined {
    return this.entries.get(resourceKey(type, name));
  }

  /**
   * Runs the program like `pulumi up`: registers its resources, performs what changed, resolves its outputs, then
   * deletes the resources of the previous run that the program no longer registers. Rejects with a RunError when
   * any step or output failed; then, like the engine, deletes nothing and keeps what was created.
   */
  async run(program: () => Record<string, pulumi.Input<unknown>>, options: RunOptions = {}): Promise<RunResult> {
    if (runInProgress) {
      throw new Error("another Executor run is in progress; the Pulumi runtime is global, so runs cannot overlap");
    }
    runInProgress = true;
    try {
      return await this.runExclusive(program, options);
    } finally {
      runInProgress = false;
    }
  }

  /**
   * Reads every resource back from the real world, like `pulumi refresh`: a provider that reads (the container)
   * updates the state from what it finds, and a resource that is gone leaves the state. Others keep their state, as
   * their providers' Read returns it unchanged (pulumi-docker provider.go `Read`: "we do no reconciliation").
   */
  async refresh(): Promise<void> {
    for (const entry of this.state) {
      const provider = PROVIDERS[entry.type];
      if (!entry.custom || !provider?.read) continue;
      const outputs = await provider.read(entry, this.providerContext(this.options.cwd ?? process.cwd()));
      if (outputs === undefined) this.entries.delete(entry.key);
      else this.entries.set(entry.key, { ...entry, outputs });
    }
  }

  /** Deletes every resource in state, dependents first (like `pulumi destroy`). */
  async destroy(): Promise<readonly Operation[]> {
    const runNumber = ++this.runCount;
    const first = this.allOperations.length;
    const failures: string[] = [];
    await this.deleteAll([...this.entries.values(), ...this.pendingDeletes], runNumber, failures);
    const operations = this.allOperations.slice(first);
    if (failures.length > 0) {
      throw new RunError(`destroy failed:\n  ${failures.join("\n  ")}`, failures, operations, 0);
    }
    return operations;
  }

  /**
   * Safety net for `after` hooks, even when a test failed: removes every container this executor created (and any
   * container carrying a label value it gave one) that still exists, and the images it built or pulled. The state is
   * forgotten. Never throws.
   */
  async cleanup(): Promise<string[]> {
    const removed: string[] = [];
    try {
      const ids = new Set(this.createdContainers);
      for (const label of this.containerLabels) {
        const listed = await docker(["ps", "-aq", "--no-trunc", "--filter", `label=${label}`], { allowFailure: true });
        for (const id of listed.stdout.split("\n").filter(Boolean)) ids.add(id);
      }
      for (const id of ids) {
        const result = await docker(["rm", "-f", "-v", id], { allowFailure: true });
        if (result.code === 0) removed.push(`container ${id.slice(0, 12)}`);
      }
      for (const tag of this.builtImages) {
        if (await removeImage(tag)) removed.push(`image ${tag}`);
      }
    } finally {
      this.createdContainers.clear();
      this.builtImages.clear();
      this.entries.clear();
      this.pendingDeletes.length = 0;
      this.stopListening();
    }
    return removed;
  }

  /** @internal Whether a rejection carries a failure this executor reported. */
  causedFailure(message: string): boolean {
    return [...this.failureMessages].some(failure => message.includes(failure));
  }

  /** @internal Synchronous container removal for process exit. */
  removeContainersSync(): void {
    for (const id of this.createdContainers) {
      try {
        execFileSync("docker", ["rm", "-f", "-v", id], { stdio: "ignore" });
      } catch {
        // best effort at exit
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // One run

  private async runExclusive(program: () => Record<string, pulumi.Input<unknown>>, runOptions: RunOptions): Promise<RunResult> {
    const runNumber = ++this.runCount;
    const started = performance.now();
    const firstOperation = this.allOperations.length;
    const cwd = runOptions.cwd ?? this.options.cwd ?? process.cwd();
    if (runOptions.refresh) await this.refresh();
    const context: RunContext = {
      runNumber,
      cwd,
      replace: new Set(runOptions.replace ?? []),
      registered: new Set(),
      options: new Map(),
      dependencies: new Map(),
      completed: new Set(),
      inflight: new Set(),
      failures: [],
      causes: [],
    };
    this.listen();

    await pulumi.runtime.setMocks(
      {
        newResource: (args: pulumi.runtime.MockResourceArgs) => {
          const label = `${args.type} "${args.name}"`;
          const promise = this.register(args, context).catch((err: unknown) => {
            const message = errorMessage(err);
            context.failures.push(`${label}: ${message}`);
            context.causes.push(message);
            this.failureMessages.add(message);
            throw err;
          });
          context.inflight.add(promise);
          promise.then(
            () => context.inflight.delete(promise),
            () => context.inflight.delete(promise),
          );
          return promise;
        },
        call: (args: pulumi.runtime.MockCallArgs) => {
          const message = `invoke ${args.token} is not implemented by the test executor`;
          context.failures.push(message);
          context.causes.push(message);
          this.failureMessages.add(message);
          // The SDK rebuilds an invoke's error from the RPC error's `details`: without them its message is empty.
          throw Object.assign(new Error(message), { details: message });
        },
      },
      this.options.project ?? "creatio-identity-service-e2e",
      this.options.stack ?? "e2e",
      false,
    );
    this.captureDependencies(context);
    const restoreProgramDirectory = this.enterProgramDirectory(cwd);

    let programOutputs: Record<string, pulumi.Input<unknown>> | undefined;
    const capture: pulumi.ResourceTransformation = args => {
      const key = resourceKey(args.type, args.name);
      const unsupported = Object.entries(args.opts)
        .filter(([option, value]) => !IGNORED_OPTIONS.has(option) && !IMPLEMENTED_OPTIONS.has(option) && !isEmpty(value) && value !== false)
        .map(([option]) => option);
      // Aliases let the engine find a resource in state under an earlier type or name. This state only ever holds
      // resources under their current identity, so an alias has no effect unless it names another entry.
      for (const alias of (args.opts.aliases ?? []) as unknown[]) {
        const aliasKey =
          typeof alias === "string"
            ? keyFromUrn(alias)
            : resourceKey(String((alias as pulumi.Alias).type ?? args.type), String((alias as pulumi.Alias).name ?? args.name));
        if (aliasKey !== key && this.entries.has(aliasKey)) unsupported.push(`aliases (${aliasKey} is in state)`);
      }
      context.options.set(key, {
        unsupported,
        options: {
          deleteBeforeReplace: (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
          additionalSecretOutputs: (args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs,
          replaceOnChanges: args.opts.replaceOnChanges,
        },
      });
      return undefined;
    };
    const stack = pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation(capture);
      programOutputs = program();
      return programOutputs;
    });
    // Outputs and the stack repeat the failures of the resources behind them: report each failure once.
    const known = (message: string) => context.causes.some(cause => message.includes(cause));
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    const programDone = (async () => {
      try {
        await stack;
      } catch (err) {
        if (!known(errorMessage(err))) context.failures.push(`program: ${errorMessage(err)}`);
      }
      for (const [name, value] of Object.entries(programOutputs ?? {})) {
        const output = pulumi.output(value);
        try {
          outputs[name] = await (output as unknown as { promise(): Promise<unknown> }).promise();
          if (await pulumi.isSecret(output)) secretOutputs.push(name);
        } catch (err) {
          if (!known(errorMessage(err))) context.failures.push(`output ${name}: ${errorMessage(err)}`);
        }
      }
    })();
    // After a failed step the SDK never registers the resources that depend on it, and outputs that wait for them
    // never settle. The engine then ends the program; so does this: once a step failed and nothing is in flight.
    const finished = { value: false };
    try {
      await Promise.race([programDone, this.quiescentAfterFailure(context, finished)]);
      finished.value = true;
      await this.settle(context);
    } finally {
      finished.value = true;
      restoreProgramDirectory();
    }

    if (context.failures.length === 0) {
      const stale = [...this.entries.values()].filter(entry => !context.registered.has(entry.key));
      await this.deleteAll([...stale, ...this.pendingDeletes], runNumber, context.failures);
    }
    const operations = this.allOperations.slice(firstOperation);
    const durationMs = performance.now() - started;
    if (context.failures.length > 0) {
      throw new RunError(`update failed:\n  ${context.failures.join("\n  ")}`, context.failures, operations, durationMs);
    }
    return { outputs, secretOutputs, operations, durationMs };
  }

  /**
   * Where the program runs and what it is told, as the Pulumi CLI does it: the nodejs language host starts the
   * program in the providers' directory (`--pwd`, sdk/nodejs/cmd/run/run.ts `process.chdir(pwd)`) and passes the
   * project root (PULUMI_NODEJS_ROOT_DIRECTORY). An Automation API inline program keeps its host's directory and is
   * not passed the root (sdk/nodejs/automation/server.ts `resetOptions` leaves it unset). Returns the undo.
   */
  private enterProgramDirectory(cwd: string): () => void {
    const options = rootDirectoryOptions();
    const previousRoot = options.rootDirectory;
    const previousCwd = process.cwd();
    if (this.options.inlineProgram) {
      options.rootDirectory = undefined;
    } else {
      process.chdir(cwd);
      options.rootDirectory = cwd;
    }
    return () => {
      options.rootDirectory = previousRoot;
      if (process.cwd() !== previousCwd) process.chdir(previousCwd);
    };
  }

  /** Resolves once a step failed and no registration has been in flight for a moment, or once `finished`. */
  private async quiescentAfterFailure(context: RunContext, finished: { value: boolean }): Promise<void> {
    let quietSince: number | undefined;
    while (!finished.value) {
      await new Promise(resolve => setTimeout(resolve, 100));
      if (context.failures.length === 0 || context.inflight.size > 0) {
        quietSince = undefined;
      } else {
        quietSince ??= Date.now();
        if (Date.now() - quietSince >= 500) return;
      }
    }
  }

  /**
   * Waits until no registration is in flight and the SDK has no RPC outstanding (bounded: after a failure the SDK may
   * keep RPCs of abandoned registrations open forever).
   */
  private async settle(context: RunContext): Promise<void> {
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    for (;;) {
      if (context.inflight.size > 0) {
        await Promise.allSettled([...context.inflight]);
        continue;
      }
      if (waitForRPCs && context.failures.length === 0) {
        await Promise.race([waitForRPCs().catch(() => undefined), new Promise(resolve => setTimeout(resolve, 2000))]);
      }
      await new Promise(resolve => setImmediate(resolve));
      if (context.inflight.size === 0) return;
    }
  }

  /**
   * The mocks do not pass a resource's dependencies to `newResource`; the registration request the SDK sends does.
   * Wrap the mock monitor to read them (explicit `dependsOn` and those of its inputs), keyed like the state.
   */
  private captureDependencies(context: RunContext): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: RegisterRequest, callback: unknown): unknown;
    };
    if (!monitor || typeof monitor.registerResource !== "function") {
      throw new Error("the mock resource monitor is not available: cannot read resource dependencies");
    }
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: RegisterRequest, callback: unknown) => {
      const key = resourceKey(req.getType(), req.getName());
      context.dependencies.set(key, req.getDependenciesList().map(keyFromUrn));
      return original(req, callback);
    };
  }

  /** One registration: decides and performs the operation, returns the state the program sees. */
  private async register(args: pulumi.runtime.MockResourceArgs, context: RunContext): Promise<pulumi.runtime.MockResourceResult> {
    const key = resourceKey(args.type, args.name);
    if (context.registered.has(key)) {
      throw new Error(`duplicate resource: ${key} was registered twice in one run`);
    }
    context.registered.add(key);
    if (args.id) {
      throw new Error(`reading or importing an existing resource (id ${args.id}) is not implemented by the test executor`);
    }
    // The root stack is registered before the transformation that captures options exists.
    const captured = context.options.get(key) ?? (args.type === "pulumi:pulumi:Stack" ? { unsupported: [], options: {} } : undefined);
    if (!captured) {
      throw new Error(`no resource options were captured for ${key}; was it registered outside the program?`);
    }
    if (captured.unsupported.length > 0) {
      throw new Error(`resource options not implemented by the test executor: ${captured.unsupported.join(", ")}`);
    }
    const dependencies = context.dependencies.get(key) ?? [];
    const unfinished = dependencies.filter(dependency => this.isCustom(dependency) && !context.completed.has(dependency));
    if (unfinished.length > 0) {
      throw new Error(`registered before its dependencies finished: ${unfinished.join(", ")}`);
    }
    const { value, secretKeys, nestedSecretKeys } = unwrapSecrets(args.inputs ?? {});
    const rawInputs = value as Plain;
    const secrecy = { secretInputs: secretKeys, nestedSecretInputs: nestedSecretKeys };

    if (!args.custom) {
      if (!COMPONENT_TYPES.has(args.type)) {
        throw new Error(`component type ${args.type} is not known to the test executor`);
      }
      this.entries.set(key, this.entryFor(key, args, "", {}, secrecy, {}, dependencies, captured.options, this.entries.get(key)?.seq));
      context.completed.add(key);
      return { id: undefined, state: {} };
    }
    // Like the engine, no new step starts once a step of this run failed.
    const skip = () => {
      if (context.failures.length > 0) throw new Error("not performed: an earlier step of this run failed");
    };

    const provider = PROVIDERS[args.type];
    if (!provider) {
      throw new Error(`resource type ${args.type} is not implemented by the test executor`);
    }
    const unknown = unsupportedArguments(rawInputs, provider.schema);
    if (unknown.length > 0) {
      throw new Error(`arguments not implemented by the test executor for ${args.type}: ${unknown.join(", ")}`);
    }
    const ctx = this.providerContext(context.cwd);
    const inputs = provider.check ? await provider.check(rawInputs, ctx) : rawInputs;
    const old = this.entries.get(key);

    let entry: ResourceEntry;
    if (!old) {
      skip();
      entry = await this.operate(context.runNumber, "create", args, [], async () => {
        const created = await provider.create(args.name, inputs, ctx);
        return this.entryFor(key, args, created.id, inputs, secrecy, created.outputs, dependencies, captured.options);
      });
    } else {
      const forced = context.replace.has(key);
      const changed = provider.changedKeys ? provider.changedKeys(old, inputs) : changedKeys(old.inputs, inputs);
      const kind =
        forced || replaceOnChangesKeys(changed, old.inputs, inputs, captured.options.replaceOnChanges ?? []).length > 0
          ? "replace"
          : changed.length === 0
            ? "none"
            : provider.diff(changed, old, inputs);
      if (kind === "none") {
        // Inputs unchanged: no provider call, but secrecy and dependencies follow the new registration.
        entry = { ...old, ...secrecy, dependencies, options: captured.options };
      } else if (kind === "update") {
        skip();
        entry = await this.operate(context.runNumber, "update", args, changed, async () => {
          const updated = await provider.update(old, inputs, ctx);
          return this.entryFor(key, args, old.id, inputs, secrecy, updated, dependencies, captured.options, old.seq);
        });
      } else {
        skip();
        // The resource option wins; else the provider's own default; else the engine's create-before-delete.
        const deleteFirst = captured.options.deleteBeforeReplace ?? provider.deleteBeforeReplace ?? false;
        entry = await this.operate(context.runNumber, "replace", args, forced && changed.length === 0 ? ["(--replace)"] : changed, async () => {
          if (deleteFirst) {
            await provider.delete(old, ctx);
            this.entries.delete(key);
          }
          const created = await provider.create(args.name, inputs, ctx);
          // Create-before-delete: the old one is deleted at the end of the run (see the header).
          if (!deleteFirst) this.pendingDeletes.push(old);
          return this.entryFor(key, args, created.id, inputs, secrecy, created.outputs, dependencies, captured.options);
        });
      }
    }
    this.entries.set(key, entry);
    context.completed.add(key);
    return { id: entry.id, state: this.programState(entry) };
  }

  private isCustom(key: string): boolean {
    const type = key.slice(0, key.lastIndexOf("::"));
    return !COMPONENT_TYPES.has(type);
  }

  private entryFor(
    key: string,
    args: pulumi.runtime.MockResourceArgs,
    id: string,
    inputs: Plain,
    secrecy: { secretInputs: readonly string[]; nestedSecretInputs: readonly string[] },
    outputs: Plain,
    dependencies: readonly string[],
    options: CapturedOptions,
    seq?: number,
  ): ResourceEntry {
    return {
      key,
      type: args.type,
      name: args.name,
      custom: args.custom ?? false,
      id,
      inputs,
      ...secrecy,
      outputs,
      dependencies,
      options,
      seq: seq ?? ++this.seq,
    };
  }

  /**
   * The state the program sees (mocks alone mark no secrets). The engine marks an output secret when it is listed in
   * `additionalSecretOutputs` or when the same-named input was a secret as a whole (pkg/resource/deploy
   * step_executor.go, where outputs are completed after Create/Update); a provider that propagates nested secrets
   * (the command provider through pulumi-go-provider infer `ensureDefaultSecrets`, resource.go, which uses
   * ContainsSecrets) also marks the same-named outputs of inputs that hold a secret anywhere.
   */
  private programState(entry: ResourceEntry): Record<string, unknown> {
    const provider = PROVIDERS[entry.type];
    const secret = new Set([
      ...entry.secretInputs,
      ...(provider?.propagatesNestedSecrets ? entry.nestedSecretInputs : []),
      ...(entry.options.additionalSecretOutputs ?? []),
    ]);
    const state: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(entry.outputs)) {
      state[name] = secret.has(name) && value !== undefined ? pulumi.secret(value) : value;
    }
    return state;
  }

  /** Performs and records one operation. */
  private async operate(
    runNumber: number,
    kind: OperationKind,
    resource: { type: string; name: string },
    changed: readonly string[],
    perform: () => Promise<ResourceEntry>,
  ): Promise<ResourceEntry> {
    const operation: Operation = {
      run: runNumber,
      kind,
      type: resource.type,
      name: resource.name,
      startedAt: performance.now(),
      endedAt: 0,
      ok: false,
      changed,
    };
    this.allOperations.push(operation);
    try {
      const entry = await perform();
      operation.ok = true;
      return entry;
    } catch (err) {
      operation.error = errorMessage(err);
      throw err;
    } finally {
      operation.endedAt = performance.now();
      const detail = changed.length > 0 ? ` (${changed.join(", ")})` : "";
      const outcome = operation.ok ? "" : " FAILED";
      this.options.log?.(
        `[executor] run ${runNumber}: ${kind} ${resource.type} "${resource.name}"${detail} ${Math.round(operation.endedAt - operation.startedAt)} ms${outcome}`,
      );
    }
  }

  /**
   * Deletes the given resources (from the state, or pending deletes of replacements), dependents before their
   * dependencies (ScheduleDeletes); among independent ones, the newest first.
   */
  private async deleteAll(condemned: ResourceEntry[], runNumber: number, failures: string[]): Promise<void> {
    const remaining = [...condemned];
    while (remaining.length > 0) {
      const candidates = remaining
        .filter(entry => !remaining.some(other => other !== entry && other.key !== entry.key && other.dependencies.includes(entry.key)))
        .sort((a, b) => b.seq - a.seq);
      const entry = candidates[0] ?? remaining[0];
      remaining.splice(remaining.indexOf(entry), 1);
      const pendingIndex = this.pendingDeletes.indexOf(entry);
      const forget = () => {
        if (pendingIndex >= 0) this.pendingDeletes.splice(this.pendingDeletes.indexOf(entry), 1);
        else this.entries.delete(entry.key);
      };
      if (!entry.custom) {
        forget();
        continue;
      }
      const provider = PROVIDERS[entry.type];
      try {
        await this.operate(runNumber, pendingIndex >= 0 ? "delete-replaced" : "delete", entry, [], async () => {
          await provider.delete(entry, this.providerContext(this.options.cwd ?? process.cwd()));
          return entry;
        });
        forget();
      } catch (err) {
        failures.push(`delete ${entry.type} "${entry.name}": ${errorMessage(err)}`);
        return; // like the engine: stop at the first failed delete, keep the rest in state
      }
    }
  }

  private providerContext(cwd: string): ProviderContext {
    return {
      cwd,
      commandTimeoutMs: this.options.commandTimeoutMs ?? 15 * 60 * 1000,
      containerCreated: id => {
        this.createdContainers.add(id);
      },
      containerDeleted: id => {
        this.createdContainers.delete(id);
      },
      containerLabelled: label => {
        this.containerLabels.add(label);
      },
      imagePulled: reference => {
        this.builtImages.add(reference);
      },
      imageBuilt: tag => {
        this.builtImages.add(tag);
      },
    };
  }

  private listen(): void {
    if (live.size === 0) {
      process.on("unhandledRejection", onUnhandledRejection);
      process.on("exit", onExit);
    }
    live.add(this);
  }

  private stopListening(): void {
    if (!live.delete(this) || live.size > 0) return;
    process.off("unhandledRejection", onUnhandledRejection);
    process.off("exit", onExit);
  }
}

interface RunContext {
  readonly runNumber: number;
  readonly cwd: string;
  /** Keys to replace whatever their diff. */
  readonly replace: ReadonlySet<string>;
  readonly registered: Set<string>;
  readonly options: Map<string, { unsupported: string[]; options: CapturedOptions }>;
  readonly dependencies: Map<string, string[]>;
  readonly completed: Set<string>;
  readonly inflight: Set<Promise<unknown>>;
  /** One line per failure, for the RunError. */
  readonly failures: string[];
  /** The failures' own messages, which the SDK repeats in the rejections of dependent Outputs. */
  readonly causes: string[];
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
}

// -----------------------------------------------------------------------------------------------------------------
// Providers

interface ProviderContext {
  readonly cwd: string;
  readonly commandTimeoutMs: number;
  containerCreated(id: string): void;
  containerDeleted(id: string): void;
  containerLabelled(label: string): void;
  imageBuilt(tag: string): void;
  imagePulled(reference: string): void;
}

/**
 * The arguments a provider implements: `true` for a leaf, a nested schema for an object or for each item of a list
 * of objects, `"map"` for a map of strings, `"any"` for a value taken as a whole.
 */
type Schema = { [argument: string]: true | "map" | "any" | Schema };

interface Provider {
  readonly schema: Schema;
  /** The provider's own replacement order, when it declares one. */
  readonly deleteBeforeReplace?: boolean;
  /** Validates and completes the inputs (like the provider's Check); the result is what is stored and diffed. */
  check?(inputs: Plain, ctx: ProviderContext): Promise<Plain>;
  /** The operation for these changed top-level inputs (the old entry and the new checked inputs, for rules that need values). */
  diff(changed: readonly string[], old: ResourceEntry, inputs: Plain): "update" | "replace";
  /**
   * The changed top-level inputs, when the provider does not diff old inputs against new ones (the default): the
   * Terraform bridge diffs the state its Read left against the new inputs.
   */
  changedKeys?(old: ResourceEntry, inputs: Plain): string[];
  /** Reads the resource back (refresh): its new outputs, or undefined when it no longer exists. */
  read?(entry: ResourceEntry, ctx: ProviderContext): Promise<Plain | undefined>;
  /** Whether outputs named like an input that holds a secret anywhere are secret (see `programState`). */
  readonly propagatesNestedSecrets?: boolean;
  create(name: string, inputs: Plain, ctx: ProviderContext): Promise<{ id: string; outputs: Plain }>;
  update(old: ResourceEntry, inputs: Plain, ctx: ProviderContext): Promise<Plain>;
  delete(entry: ResourceEntry, ctx: ProviderContext): Promise<void>;
}

/**
 * @pulumi/random RandomString and RandomPassword (terraform-provider-random): every argument forces a new value;
 * `keepers` as RequiresReplaceIfValuesNotNull says (shared rule `randomReplaceKeys`: removing keepers replaces, a
 * change that only adds null values updates the state). Characters per upper/lower/numeric/special (default all
 * true), `overrideSpecial`, and at least min* characters of each class.
 */
function randomProvider(kind: "string" | "password"): Provider {
  return {
    schema: {
      length: true,
      upper: true,
      lower: true,
      numeric: true,
      special: true,
      minUpper: true,
      minLower: true,
      minNumeric: true,
      minSpecial: true,
      overrideSpecial: true,
      keepers: "map",
    },
    diff: (changed, old, inputs) => (randomReplaceKeys(changed, old.inputs, inputs).length > 0 ? "replace" : "update"),
    async create(_name, inputs) {
      const result = randomValue(inputs);
      return { id: kind === "string" ? result : "none", outputs: { ...inputs, result } };
    },
    async update(old, inputs) {
      // Only a keepers change that does not replace reaches an update: the value stays.
      return { ...inputs, result: old.outputs.result };
    },
    async delete() {
      // Nothing outside the state.
    },
  };
}

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function randomValue(inputs: Plain): string {
  const length = inputs.length;
  if (typeof length !== "number" || !Number.isInteger(length) || length < 1) {
    throw new Error(`length must be a positive integer (got ${JSON.stringify(length)})`);
  }
  const flag = (name: string) => inputs[name] === undefined || inputs[name] === true;
  const min = (name: string) => {
    const value = inputs[name] ?? 0;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
    return value;
  };
  const special = typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : SPECIAL;
  const classes: Array<[string, boolean, number]> = [
    [UPPER, flag("upper"), min("minUpper")],
    [LOWER, flag("lower"), min("minLower")],
    [NUMERIC, flag("numeric"), min("minNumeric")],
    [special, flag("special"), min("minSpecial")],
  ];
  const required = classes.reduce((sum, [, , count]) => sum + count, 0);
  if (length < required) {
    throw new Error(`length (${length}) must be >= minUpper + minLower + minNumeric + minSpecial (${required})`);
  }
  const pick = (alphabet: string) => alphabet[crypto.randomInt(alphabet.length)];
  const chars: string[] = [];
  for (const [alphabet, , count] of classes) {
    for (let i = 0; i < count; i++) chars.push(pick(alphabet));
  }
  const alphabet = classes.filter(([, enabled]) => enabled).map(([letters]) => letters).join("");
  if (chars.length < length && alphabet === "") {
    throw new Error("upper, lower, numeric and special are all false: no characters to choose from");
  }
  while (chars.length < length) chars.push(pick(alphabet));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join("");
}


/**
 * @pulumi/docker Image (the provider's own, not bridged; pulumi-docker provider/provider.go): Check resolves the
 * Dockerfile from the working directory and adds the build context digest and the default platform, so a changed
 * context is a diff; Diff compares only the stored inputs (`__inputs`) and every diff is an update (a rebuild); Read
 * returns the state as it is ("we do no reconciliation"), so an image removed from the engine is not noticed; Delete
 * does nothing (the image stays on the engine). Pushing is refused: no registry is reachable here.
 * Not the same: the provider builds with BuildKit through the Engine API (image.go, `Version: "2"` with a session);
 * the docker CLI here has no buildx, so the executor uses the classic builder for the same platform.
 */

const imageProvider: Provider = {
  // buildOnPreview only matters in a preview, which the executor never runs.
  schema: { imageName: true, skipPush: true, buildOnPreview: true, build: { context: true, dockerfile: true, platform: true } },
  async check(inputs, ctx) {
    if (inputs.skipPush !== true) {
      throw new Error("pushing an image is not possible here (no registry); the executor only builds with skipPush: true");
    }
    const build = inputs.build as Plain | undefined;
    if (typeof inputs.imageName !== "string" || inputs.imageName === "") throw new Error("imageName is required");
    if (!build || typeof build.context !== "string") throw new Error("build.context is required");
    const context = path.resolve(ctx.cwd, build.context);
    const dockerfileInput = typeof build.dockerfile === "string" ? build.dockerfile : path.join(build.context, "Dockerfile");
    const dockerfile = path.resolve(ctx.cwd, dockerfileInput);
    if (!fs.existsSync(dockerfile)) {
      const hint = fs.existsSync(path.join(context, dockerfileInput)) ? `; try ${JSON.stringify(path.join(build.context, dockerfileInput))}` : "";
      throw new Error(`could not open dockerfile at ${path.isAbsolute(dockerfileInput) ? "absolute" : "relative"} path ${dockerfileInput}${hint}`);
    }
    // Check adds the digest and the default platform "linux/<GOARCH of the provider>" (provider.go `Check`).
    const platform = build.platform ?? `linux/${HOST_ARCHITECTURE}`;
    if (platform !== `linux/${HOST_ARCHITECTURE}`) {
      throw new Error(`build.platform ${JSON.stringify(platform)}: the executor builds only for this machine (linux/${HOST_ARCHITECTURE})`);
    }
    // BuildKit reads `<Dockerfile>.dockerignore`; the classic builder used here would not, and would build otherwise.
    if (fs.existsSync(`${dockerfile}.dockerignore`)) {
      throw new Error(`${dockerfile}.dockerignore: a Dockerfile-specific ignore file is not implemented by the test executor's builder`);
    }
    return { ...inputs, build: { ...build, platform, contextDigest: hashContext(context, dockerfile) } };
  },
  diff: () => "update",
  async create(_name, inputs, ctx) {
    const outputs = await buildImage(inputs, ctx);
    return { id: String(inputs.imageName), outputs };
  },
  async update(_old, inputs, ctx) {
    return buildImage(inputs, ctx);
  },
  async delete() {
    // The provider leaves the image on the engine.
  },
};

async function buildImage(inputs: Plain, ctx: ProviderContext): Promise<Plain> {
  const build = inputs.build as Plain;
  const imageName = String(inputs.imageName);
  const context = path.resolve(ctx.cwd, String(build.context));
  const dockerfile = path.resolve(ctx.cwd, String(build.dockerfile ?? path.join(String(build.context), "Dockerfile")));
  await docker(["build", "-t", imageName, "-f", dockerfile, context], { env: { DOCKER_BUILDKIT: "0" } });
  ctx.imageBuilt(imageName);
  const id = (await docker(["image", "inspect", "-f", "{{.Id}}", imageName])).stdout.trim();
  // As the provider reports them: the context as given, the Dockerfile relative to it, the local image id as repoDigest.
  return {
    ...inputs,
    imageName,
    baseImageName: imageName,
    repoDigest: id,
    context: build.context,
    dockerfile: path.relative(context, dockerfile),
    registryServer: "",
  };
}

/**
 * @pulumi/docker RemoteImage (kreuzwerker/terraform-provider-docker v4.5.0, resource_docker_image_funcs.go): Create
 * runs `findImage`, which uses a local image of that name when there is one and pulls only when there is none (so a
 * tag pushed again is never pulled again while the old one is local), then Read sets `imageId` and `repoDigest`;
 * `name` forces a replacement, `keepLocally` only changes state; Delete removes the image unless `keepLocally`.
 * Pulls go to registries on loopback only (a test registry); any other registry is refused, as none is reachable.
 */
const remoteImageProvider: Provider = {
  schema: { name: true, keepLocally: true },
  diff: changed => (remoteImageReplaceKeys(changed).length > 0 ? "replace" : "update"),
  async create(_name, inputs, ctx) {
    const name = String(inputs.name);
    let inspected = await docker(["image", "inspect", name], { allowFailure: true });
    if (inspected.code !== 0) {
      const registry = name.includes("/") ? name.slice(0, name.indexOf("/")) : "";
      if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(registry)) {
        throw new Error(
          `image ${JSON.stringify(name)} is not on the local Docker Engine and no registry is reachable here to pull it: ` +
            `build or load it first, or serve it from a registry on loopback (${inspected.stderr.trim()})`,
        );
      }
      const pulled = await docker(["pull", name], { allowFailure: true });
      if (pulled.code !== 0) throw new Error(`Unable to read Docker image into resource: unable to pull image ${name}: ${pulled.stderr.trim()}`);
      ctx.imagePulled(name);
      inspected = await docker(["image", "inspect", name]);
    }
    const image = JSON.parse(inspected.stdout)[0] as { Id: string; RepoDigests?: string[] };
    const repository = name.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
    const repoDigest = image.RepoDigests?.find(digest => digest.startsWith(`${repository}@`)) ?? image.RepoDigests?.[0] ?? "";
    return { id: `${image.Id}${name}`, outputs: { ...inputs, imageId: image.Id, repoDigest } };
  },
  async update(old, inputs) {
    return { ...old.outputs, ...inputs };
  },
  async delete(entry) {
    if (entry.inputs.keepLocally === true) return;
    await docker(["image", "rm", String(entry.inputs.name)], { allowFailure: true });
  },
};

/**
 * @pulumi/docker Container (kreuzwerker/terraform-provider-docker v4.5.0, internal/provider/): `restart` is updated in
 * place (`docker update`) and a `mustRun` that becomes true starts the container (funcs.go `Update`: "must_run changed
 * from false to true"); every other argument forces a replacement (ForceNew in resource_docker_container.go).
 * Check applies the schema defaults (restart "no", must_run true, ports ip "0.0.0.0" and protocol "tcp").
 *
 * Create = the provider's ContainerCreate request through the Engine API (rules.ts `containerCreateRequest`: the
 * environment, labels, ports, restart policy and health check in either form), attached only to the `networksAdvanced`
 * networks when there are any, each upload copied in as a tar stream
 * with the provider's layout (full path extracted at "/", mode 0644 or 0744), `docker start`, then Read. There is no
 * wait for "running" (removed in v4.0.0 by #841): a container that stops at once is created all the same, and Read
 * records it (funcs.go `Read`): not running with must_run true -> must_run false in the state; ports are read back
 * from the engine only while it runs or must_run is true (an exited container has none); the image is read back
 * as the container's image id when it was given as "sha256:...". Delete = `docker rm -f -v`. Replacements delete
 * first (pulumi-docker resources.go declares DeleteBeforeReplace for docker_container).
 *
 * The diff is the bridge's: the state Read left against the new inputs, with env, labels, upload and
 * networks_advanced compared as sets (TypeSet: order-insensitive, duplicates collapsed) and ports as a list.
 */
const containerProvider: Provider = {
  deleteBeforeReplace: CONTAINER_DELETE_BEFORE_REPLACE,
  schema: {
    name: true,
    image: true,
    envs: "any",
    ports: { internal: true, external: true, ip: true, protocol: true },
    uploads: { file: true, content: true, contentBase64: true, executable: true },
    restart: true,
    networksAdvanced: { name: true },
    labels: { label: true, value: true },
    mustRun: true,
    healthcheck: { tests: true, interval: true, timeout: true, startPeriod: true, startInterval: true, retries: true },
  },
  async check(inputs) {
    return containerDefaults(inputs);
  },
  changedKeys: (old, inputs) => containerChangedKeys(old.inputs, old.outputs, inputs),
  diff: changed => (containerReplaceKeys(changed).length > 0 ? "replace" : "update"),
  async create(_name, inputs, ctx) {
    const id = await createContainer(inputs, ctx);
    const outputs = await readContainer(id, { ...inputs, id });
    if (!outputs) throw new Error(`container ${id.slice(0, 12)} disappeared right after it was created`);
    return { id, outputs };
  },
  async update(old, inputs) {
    if (old.outputs.restart !== inputs.restart) {
      await docker(["update", "--restart", String(inputs.restart ?? "no"), old.id]);
    }
    if (old.outputs.mustRun === false && inputs.mustRun !== false) {
      await docker(["start", old.id]);
    }
    const outputs = await readContainer(old.id, { ...old.outputs, ...inputs });
    if (!outputs) throw new Error(`container ${old.id.slice(0, 12)} no longer exists`);
    return outputs;
  },
  read(entry) {
    return readContainer(entry.id, entry.outputs);
  },
  async delete(entry, ctx) {
    const removed = await docker(["rm", "-f", "-v", entry.id], { allowFailure: true });
    if (removed.code !== 0 && !/No such container/i.test(removed.stderr)) {
      throw new Error(`docker rm failed: ${removed.stderr.trim()}`);
    }
    ctx.containerDeleted(entry.id);
  },
};

/** The provider's Read of a container into its state (shared rule `containerReadBack`); undefined when it is gone. */
async function readContainer(id: string, state: Plain): Promise<Plain | undefined> {
  const inspected = await docker(["inspect", "--type", "container", id], { allowFailure: true });
  if (inspected.code !== 0) {
    if (/No such (object|container)/i.test(inspected.stderr)) return undefined;
    throw new Error(`docker inspect failed: ${inspected.stderr.trim()}`);
  }
  const container = JSON.parse(inspected.stdout)[0] as InspectedContainer;
  return { ...containerReadBack(container, state), id: container.Id };
}

async function createContainer(inputs: Plain, ctx: ProviderContext): Promise<string> {
  if (typeof inputs.name !== "string" || inputs.name === "") throw new Error("name is required");
  if (typeof inputs.image !== "string" || inputs.image === "") throw new Error("image is required");
  const names = new Set<string>();
  for (const entry of (inputs.envs as unknown[] | undefined) ?? []) {
    const separator = String(entry).indexOf("=");
    if (separator <= 0) throw new Error(`envs entry without NAME=value: ${JSON.stringify(String(entry).slice(0, 40))}`);
    const name = String(entry).slice(0, separator);
    if (names.has(name)) throw new Error(`envs sets ${name} twice`);
    names.add(name);
  }
  for (const label of (inputs.labels as Plain[] | undefined) ?? []) ctx.containerLabelled(`${label.label}=${label.value}`);
  const networks = ((inputs.networksAdvanced as Plain[] | undefined) ?? []).map(network => String(network.name));
  // ContainerCreate through the Engine API, as the provider's client sends it (rules.ts `containerCreateRequest`): the
  // docker CLI cannot give a health check in the exec form, and the environment stays off any command line.
  const { name, body } = containerCreateRequest(inputs);
  const created = await engineRequest<{ Id: string }>(process.env.DOCKER_HOST, "POST", `/containers/create?name=${encodeURIComponent(name)}`, body);
  const id = created.Id;
  ctx.containerCreated(id);
  try {
    for (const network of networks.slice(1)) {
      await docker(["network", "connect", network, id]);
    }
    for (const upload of (inputs.uploads as Plain[] | undefined) ?? []) {
      const file = String(upload.file);
      if (!path.posix.isAbsolute(file)) throw new Error(`upload file must be an absolute path: ${file}`);
      const content =
        typeof upload.contentBase64 === "string"
          ? Buffer.from(upload.contentBase64, "base64")
          : typeof upload.content === "string"
            ? Buffer.from(upload.content, "utf8")
            : undefined;
      if (!content) throw new Error(`upload ${file} has neither content nor contentBase64`);
      const mode = upload.executable === true ? 0o744 : 0o644;
      await docker(["cp", "-", `${id}:/`], { input: tarOneFile(file.replace(/^\/+/, ""), content, mode) });
    }
    await docker(["start", id]);
  } catch (err) {
    await docker(["rm", "-f", "-v", id], { allowFailure: true });
    ctx.containerDeleted(id);
    throw err;
  }
  return id;
}

/** A POSIX (ustar) tar archive holding one regular file owned by root; missing parent folders are created on extraction. */
function tarOneFile(name: string, content: Buffer, mode: number): Buffer {
  let prefix = "";
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    prefix = cut > 0 ? name.slice(0, cut) : "";
    base = cut > 0 ? name.slice(cut + 1) : name;
    if (Buffer.byteLength(prefix) > 155 || Buffer.byteLength(base) > 100) throw new Error(`upload path too long for a tar header: ${name}`);
  }
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "ascii");
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0") + "\0";
  header.write(base, 0, 100, "utf8");
  header.write(prefix, 345, 155, "utf8");
  field(100, 8, octal(mode, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(Math.floor(Date.now() / 1000), 12));
  field(148, 8, "        ");
  field(156, 1, "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  field(265, 32, "root");
  field(297, 32, "root");
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, checksum.toString(8).padStart(6, "0") + "\0 ");
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/**
 * @pulumi/command local.Command (pulumi-command 1.x): `triggers` force a replacement (through the replaceOnChanges
 * option the SDK adds), any other change is an update
 * that runs `update` (or `create` when there is none) with the previous stdout/stderr in PULUMI_COMMAND_STDOUT and
 * PULUMI_COMMAND_STDERR (unless addPreviousOutputInEnv is false); delete runs `delete` if given. The command runs
 * through `interpreter` (default `/bin/sh -c`) in `dir` (default the working directory), with `environment` added to
 * the process environment and `stdin` piped in. A non-zero exit fails with the provider's message, which repeats the
 * command and its combined output.
 */
const commandProvider: Provider = {
  propagatesNestedSecrets: true,
  schema: {
    create: true,
    update: true,
    delete: true,
    environment: "map",
    stdin: true,
    dir: true,
    interpreter: "any",
    triggers: "any",
    addPreviousOutputInEnv: true,
    logging: true,
  },
  async check(inputs) {
    const logging = inputs.logging;
    if (logging !== undefined && !["stdout", "stderr", "stdoutAndStderr", "none"].includes(String(logging))) {
      throw new Error(`logging must be stdout, stderr, stdoutAndStderr or none (got ${JSON.stringify(logging)})`);
    }
    return inputs;
  },
  // The SDK registers every Command with replaceOnChanges ["triggers[*]"]: the engine's replacement, applied above.
  diff: changed => (commandReplaceKeys(changed).length > 0 ? "replace" : "update"),
  async create(name, inputs, ctx) {
    const id = commandId(name);
    const output = typeof inputs.create === "string" ? await runCommand(inputs.create, inputs, undefined, ctx) : { stdout: "", stderr: "" };
    return { id, outputs: { ...inputs, ...output } };
  },
  async update(old, inputs, ctx) {
    const command = typeof inputs.update === "string" ? inputs.update : inputs.create;
    const previous = { stdout: String(old.outputs.stdout ?? ""), stderr: String(old.outputs.stderr ?? "") };
    const output = typeof command === "string" ? await runCommand(command, inputs, previous, ctx) : previous;
    return { ...inputs, ...output };
  },
  async delete(entry, ctx) {
    if (typeof entry.inputs.delete !== "string") return;
    const previous = { stdout: String(entry.outputs.stdout ?? ""), stderr: String(entry.outputs.stderr ?? "") };
    await runCommand(entry.inputs.delete, entry.inputs, previous, ctx);
  },
};

function runCommand(
  command: string,
  inputs: Plain,
  previous: { stdout: string; stderr: string } | undefined,
  ctx: ProviderContext,
): Promise<{ stdout: string; stderr: string }> {
  const interpreter = Array.isArray(inputs.interpreter) && inputs.interpreter.length > 0 ? inputs.interpreter.map(String) : ["/bin/sh", "-c"];
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries((inputs.environment as Plain | undefined) ?? {})) env[name] = String(value);
  if (inputs.addPreviousOutputInEnv !== false && previous) {
    if (previous.stdout !== "") env.PULUMI_COMMAND_STDOUT = previous.stdout;
    if (previous.stderr !== "") env.PULUMI_COMMAND_STDERR = previous.stderr;
  }
  const cwd = typeof inputs.dir === "string" ? path.resolve(ctx.cwd, inputs.dir) : ctx.cwd;
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter[0], [...interpreter.slice(1), command], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let combined = "";
    child.stdout.on("data", chunk => {
      stdout += chunk;
      combined += chunk;
    });
    child.stderr.on("data", chunk => {
      stderr += chunk;
      combined += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), ctx.commandTimeoutMs);
    child.on("error", err => {
      clearTimeout(timer);
      reject(new Error(`${err.message}: running ${JSON.stringify(command)}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve({ stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") });
      } else {
        const status = signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal}` : `exit status ${code}`;
        reject(new Error(`${status}: running ${JSON.stringify(command)}:\n${combined}`));
      }
    });
    child.stdin.on("error", () => undefined); // a command that does not read stdin may close it early
    child.stdin.end(typeof inputs.stdin === "string" && inputs.stdin !== "" ? inputs.stdin : undefined);
  });
}

const PROVIDERS: Record<string, Provider> = {
  "random:index/randomString:RandomString": randomProvider("string"),
  "random:index/randomPassword:RandomPassword": randomProvider("password"),
  "docker:index/image:Image": imageProvider,
  "docker:index/remoteImage:RemoteImage": remoteImageProvider,
  "docker:index/container:Container": containerProvider,
  "command:local:Command": commandProvider,
  // Swarm: see swarm.ts.
  "docker:index/network:Network": networkProvider,
  "docker:index/secret:Secret": secretProvider,
  "docker:index/service:Service": serviceProvider,
};

// -----------------------------------------------------------------------------------------------------------------
// Helpers

function resourceKey(type: string, name: string): string {
  return `${type}::${name}`;
}

/** urn:pulumi:<stack>::<project>::<parent types$>type::name -> the state key. */
function keyFromUrn(urn: string): string {
  const parts = urn.split("::");
  const name = parts.slice(3).join("::");
  const type = parts[2].split("$").pop()!;
  return resourceKey(type, name);
}

/**
 * Replaces the SDK's secret envelopes by their values; reports the top-level properties that were secrets as a whole
 * (`secretKeys`) and those that held one anywhere (`nestedSecretKeys`, a superset).
 */
function unwrapSecrets(inputs: Plain): { value: unknown; secretKeys: string[]; nestedSecretKeys: string[] } {
  const secretKeys: string[] = [];
  const nestedSecretKeys: string[] = [];
  const isSecret = (value: unknown) =>
    value !== null && typeof value === "object" && (value as Plain)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
  for (const [key, value] of Object.entries(inputs)) {
    if (isSecret(value)) secretKeys.push(key);
  }
  const walk = (value: unknown, top: string | undefined): unknown => {
    if (Array.isArray(value)) return value.map(item => walk(item, top));
    if (value !== null && typeof value === "object") {
      const object = value as Plain;
      if (isSecret(object)) {
        if (top !== undefined && !nestedSecretKeys.includes(top)) nestedSecretKeys.push(top);
        return walk(object.value, top);
      }
      if (pulumi.runtime.specialSigKey in object) {
        throw new Error(`a special value (assets, archives, resource references) is not implemented by the test executor`);
      }
      return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, walk(item, top ?? key)]));
    }
    return value;
  };
  return { value: walk(inputs, undefined), secretKeys, nestedSecretKeys };
}

/** Paths of arguments that are set (not empty) but not in the schema. */
function unsupportedArguments(inputs: Plain, schema: Schema, prefix = ""): string[] {
  const found: string[] = [];
  for (const [key, value] of Object.entries(inputs)) {
    const rule = schema[key];
    const name = prefix + key;
    if (rule === undefined) {
      if (!isEmpty(value)) found.push(name);
    } else if (typeof rule === "object") {
      const items = Array.isArray(value) ? value : [value];
      items.forEach((item, index) => {
        if (item !== null && typeof item === "object" && !Array.isArray(item)) {
          found.push(...unsupportedArguments(item as Plain, rule, Array.isArray(value) ? `${name}[${index}].` : `${name}.`));
        } else if (!isEmpty(item)) {
          found.push(`${name} (not an object)`);
        }
      });
    } else if (rule === "map" && value !== undefined && value !== null) {
      if (typeof value !== "object" || Array.isArray(value)) found.push(`${name} (not a map)`);
    }
  }
  return found;
}

/** Unset: undefined, null, an empty list or object. `false` is a value (it may differ from the default). */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value as object).length === 0;
  return false;
}

/** Top-level inputs whose values differ. */
function changedKeys(old: Plain, news: Plain): string[] {
  const keys = new Set([...Object.keys(old), ...Object.keys(news)]);
  return [...keys].filter(key => stableJson(old[key]) !== stableJson(news[key])).sort();
}

/** The Node SDK's settings, whose project root `pulumi.runtime.getRootDirectory()` reports. */
function rootDirectoryOptions(): { rootDirectory?: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const state = require("@pulumi/pulumi/runtime/state") as { getStore(): { settings: { options: { rootDirectory?: string } } } };
  return state.getStore().settings.options;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI; `env` is added to its environment, `input` goes to its stdin. */
/**
 * Removes a built image. The tasks of a removed swarm service leave their containers for a few seconds, and those
 * keep the image in use ("conflict: unable to remove repository reference"): wait for them rather than leave the
 * image behind.
 */
async function removeImage(tag: string, attempts = 30): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const result = await docker(["image", "rm", tag], { allowFailure: true });
    if (result.code === 0) return true;
    if (attempt >= attempts || !/conflict|being used/i.test(result.stderr)) return false;
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}

export function docker(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: Buffer; allowFailure?: boolean } = {},
): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", chunk => stdout.push(chunk));
    child.stderr.on("data", chunk => stderr.push(chunk));
    child.on("error", err => reject(new Error(`docker ${args[0]}: ${err.message}`)));
    child.on("close", code => {
      const result = { code: code ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
      if (result.code !== 0 && !options.allowFailure) {
        const output = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-15).join("\n");
        reject(new Error(`docker ${args[0]} failed (exit ${result.code}): ${output}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
  });
}
