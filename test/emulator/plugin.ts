// The multi-language path: a source-based component package started as a plugin, and a Pulumi YAML program that
// uses it, as the engine and pulumi-language-yaml drive them.
// - Starting the plugin: pulumi-language-nodejs `RunPlugin` (sdk/nodejs/cmd/pulumi-language-nodejs/main.go): node
//   runs `@pulumi/pulumi/cmd/run-plugin` located from the package folder, with the package folder and then the
//   plugin arguments (the engine passes its own address), in the engine's working directory, with the engine's
//   environment plus PULUMI_NODEJS_TYPESCRIPT=true unless PulumiPlugin.yaml's runtime options say `typescript:
//   false`. cmd/run-plugin finds the exported components and serves them with `componentProviderHost`, which
//   prints its port on stdout (provider/server.js `main`).
// - GetSchema: the schema the SDK infers from the source (provider/experimental/provider.js `getSchema`).
// - Configure: the engine configures the package's default provider before its first Construct and learns from the
//   answer what the plugin accepts (sdk/go/common/resource/plugin/provider_plugin.go v3.248.0 `Configure`, the
//   request at :1095-1106, the protocol taken from the response at :1114-1121; the Node.js provider server has no
//   Handshake, so the response is what counts).
// - Construct: what the engine sends for a remote component a YAML program declares (provider.proto
//   ConstructRequest: project, stack, config and its secret keys, dry run, parallel, the monitor endpoint, type,
//   name, parent, inputs); the plugin's SDK registers the component and its children with the emulator's monitor,
//   and the response carries the component's URN and outputs. The inputs are encoded as the engine encodes them
//   (see `engineConstructInputs`).
// - A failed Construct: reported as the engine reports it, a diagnostic of the resource naming the InputPropertiesError
//   entries with the program's values at their paths, through the secret filter of every diagnostic (see
//   `constructFailure` and `filterSecureValues`).
// - The plugin's lifetime: one plugin per operation, started on first use and stopped when the program is done; the
//   engine releases a deployment's plugins when the deployment closes (pkg/engine/deployment.go v3.248.0 `Close`,
//   sdk/go/common/resource/plugin/context.go `Close`: ReleaseContext), after its deletes, which never call a
//   component's plugin (a component has no provider). `pulumi destroy` runs no program, so no Construct and no
//   plugin: it deletes what the checkpoint holds (pkg/engine/destroy.go v3.248.0 `newDestroySource` returns
//   deploy.NewNullSource unless --run-program), which stack.ts `destroy` does.
// - The YAML program: only what examples/yaml uses is evaluated, as pulumi-language-yaml would: `config:` with
//   types, defaults and `secret: true`, `${name}` references to configuration, `fn::secret`, resources whose type
//   belongs to a package of `packages:`, and `outputs:` reading `${resource.output}`. Anything else is refused.
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { Deployment } from "./engine";
import { Project, locateModule } from "./project";
import { isSecret, isUnknown, OUTPUT_VALUE_SIG, PropertyMap, PropertyValue, secret, SIG_KEY, withoutNulls } from "./values";

/* eslint-disable @typescript-eslint/no-require-imports */
const providerGrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const providerPb = require("@pulumi/pulumi/proto/provider_pb");
const statusPb = require("@pulumi/pulumi/proto/status_pb");
const errorsPb = require("@pulumi/pulumi/proto/errors_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

export interface RunningPlugin {
    readonly address: string;
     
    readonly client: any;
    readonly process: ChildProcess;
    stderr(): string;
    stop(): Promise<void>;
}

/** RunPlugin: starts the package folder as a plugin and connects to the port it prints. */
export async function startPlugin(packageFolder: string, pwd: string, engineAddress: string): Promise<RunningPlugin> {
    const pluginFile = path.join(packageFolder, "PulumiPlugin.yaml");
    const manifest = fs.existsSync(pluginFile) ? (parse(fs.readFileSync(pluginFile, "utf8")) ?? {}) : {};
    const runtime = manifest.runtime;
    const runtimeName = typeof runtime === "string" ? runtime : runtime?.name;
    if (runtimeName !== "nodejs") throw new Error(`${pluginFile}: runtime ${runtimeName}: the emulator starts Node.js plugins only`);
    const options = (typeof runtime === "object" && runtime?.options) || {};
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (options.typescript !== false) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    if (typeof options.tsconfig === "string") env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
    const runPath = locateModule("@pulumi/pulumi/cmd/run-plugin", packageFolder);
    const child = spawn(process.execPath, [runPath, packageFolder, engineAddress], { cwd: pwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", chunk => (stderr += chunk));
    const port = await new Promise<number>((resolve, reject) => {
        let stdout = "";
        child.stdout!.on("data", chunk => {
            stdout += chunk;
            const line = stdout.split("\n")[0];
            if (stdout.includes("\n") && /^\d+$/.test(line.trim())) resolve(Number(line.trim()));
        });
        child.on("exit", code => reject(new Error(`the plugin ${packageFolder} exited (${code}) before printing its port:\n${stderr}${stdout}`)));
    });
    const Client = grpc.makeGenericClientConstructor(providerGrpc.ResourceProviderService, "ResourceProvider");
    const address = `127.0.0.1:${port}`;
    const client = new Client(address, grpc.credentials.createInsecure());
    return {
        address, client, process: child, stderr: () => stderr,
        stop: async () => {
            client.close();
            if (child.exitCode === null) {
                const exited = new Promise(resolve => child.once("exit", resolve));
                child.kill("SIGTERM");
                await exited;
            }
        },
    };
}

function unary<T>(client: RunningPlugin["client"], method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => client[method](request, (error: Error | null, response: T) => error ? reject(error) : resolve(response)));
}

/** GetSchema as the engine calls it for `pulumi package add` / `get-schema`. */
export async function getSchema(plugin: RunningPlugin): Promise<string> {
    const response = await unary<{ getSchema(): string }>(plugin.client, "getSchema", new providerPb.GetSchemaRequest());
    return response.getSchema();
}

export interface ConstructArgs {
    readonly project: string;
    readonly stack: string;
    readonly dryRun: boolean;
    readonly monitor: string;
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly inputs: PropertyMap;
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
}

/** What a plugin told the engine it accepts, in its answer to Configure. */
export interface PluginProtocol {
    readonly acceptSecrets: boolean;
    readonly acceptResources: boolean;
    readonly acceptOutputs: boolean;
}

/**
 * Configure of the package's default provider, as the engine sends it (provider_plugin.go v3.248.0 :1095-1106: no
 * variables or arguments for a default provider without configuration, AcceptSecrets and AcceptResources set).
 */
export async function configure(plugin: RunningPlugin, pkg: string, project: string, stack: string): Promise<PluginProtocol> {
    const request = new providerPb.ConfigureRequest();
    request.setAcceptsecrets(true);
    request.setAcceptresources(true);
    request.setSendsOldInputs(true);
    request.setSendsOldInputsToDelete(true);
    request.setArgs(Struct.fromJavaScript({}));
    request.setType(`pulumi:providers:${pkg}`);
    request.setName("default");
    request.setUrn(`urn:pulumi:${stack}::${project}::pulumi:providers:${pkg}::default`);
    const response = await unary<{ getAcceptsecrets(): boolean; getAcceptresources(): boolean; getAcceptoutputs(): boolean }>(plugin.client, "configure", request);
    return { acceptSecrets: response.getAcceptsecrets(), acceptResources: response.getAcceptresources(), acceptOutputs: response.getAcceptoutputs() };
}

/**
 * The inputs of a remote component as the engine forwards them to Construct, from the properties the program sent
 * to the monitor (wire form, secrets and unknowns as the SDK sends them):
 * - RegisterResource unmarshals them with KeepOutputValues and UpgradeToOutputValues (pkg/resource/deploy/
 *   source_eval.go v3.248.0 :2090-2100), which turns every secret, at any depth, into an output value that is known
 *   and secret, and every unknown into an unknown output value (sdk/go/common/resource/plugin/rpc.go v3.248.0
 *   `unmarshalSecretPropertyValue` :626-642, `unmarshalUnknownPropertyValue`); a remote component keeps them
 *   (source_eval.go :2510-2512 downgrades only for other resources).
 * - Construct marshals them with KeepOutputValues set to what the plugin accepts (provider_plugin.go v3.248.0
 *   :1991-2000), so an output value crosses as `{sig: OutputValueSig, value, secret}` (rpc.go :172-201), and as a
 *   secret or unknown again when the plugin does not accept output values.
 * The Node.js SDK turns each output value back into an Output where it stands (runtime/rpc.ts `deserializeProperty`),
 * so a secret inside a plain object stays a secret Output inside a plain object.
 */
export function engineConstructInputs(inputs: PropertyMap, protocol: PluginProtocol): PropertyMap {
    const encode = (value: PropertyValue): PropertyValue => {
        if (isSecret(value)) {
            const element = encode(value.value as PropertyValue);
            return protocol.acceptOutputs ? { [SIG_KEY]: OUTPUT_VALUE_SIG, value: element, secret: true } : secret(element);
        }
        if (isUnknown(value)) return protocol.acceptOutputs ? { [SIG_KEY]: OUTPUT_VALUE_SIG } : value;
        if (Array.isArray(value)) return value.map(encode);
        if (value !== null && typeof value === "object") {
            const map: PropertyMap = value;
            if (SIG_KEY in map) throw new Error(`the emulator forwards secrets and unknowns to Construct, not ${JSON.stringify(map[SIG_KEY])} values`);
            return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, encode(v)]));
        }
        return value;
    };
    return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, encode(v)]));
}

/** Construct: returns the component's URN and its outputs (wire form). */
export async function construct(plugin: RunningPlugin, protocol: PluginProtocol, args: ConstructArgs): Promise<{ urn: string; state: PropertyMap }> {
    // provider_plugin.go v3.248.0 Construct: "plugins that can construct components must support secrets".
    if (!protocol.acceptSecrets) throw new Error("plugins that can construct components must support secrets");
    const request = new providerPb.ConstructRequest();
    request.setProject(args.project);
    request.setStack(args.stack);
    request.setDryrun(args.dryRun);
    request.setParallel(48);
    request.setMonitorendpoint(args.monitor);
    request.setType(args.type);
    request.setName(args.name);
    request.setParent(args.parent);
    request.setInputs(Struct.fromJavaScript(engineConstructInputs(args.inputs, protocol) as never));
    for (const [key, value] of Object.entries(args.config)) request.getConfigMap().set(key, value);
    request.setConfigsecretkeysList(args.secretKeys);
    const response = await unary<{ getUrn(): string; getState(): Struct }>(plugin.client, "construct", request);
    return { urn: response.getUrn(), state: withoutNulls(response.getState().toJavaScript() as PropertyMap) };
}

/** One entry of a pulumirpc.InputPropertiesError. */
export interface PropertyError {
    readonly propertyPath: string;
    readonly reason: string;
}

/**
 * The status message and the InputPropertiesError entries of a failed call, as rpcerror.FromError reads them
 * (sdk/go/common/util/rpcutil/rpcerror/rpcerror.go v3.248.0 :195 and `InputPropertiesErrors` :90): the gRPC
 * status carried in `grpc-status-details-bin`, whose details may hold a `pulumirpc.InputPropertiesError`.
 */
export function decodeRpcError(error: grpc.ServiceError): { message: string; propertyErrors: PropertyError[] } {
    const propertyErrors: PropertyError[] = [];
    for (const bytes of error.metadata?.get("grpc-status-details-bin") ?? []) {
        const status = statusPb.Status.deserializeBinary(new Uint8Array(bytes as Buffer));
        for (const detail of status.getDetailsList()) {
            if (detail.getTypeName() !== "pulumirpc.InputPropertiesError") continue;
            const details = errorsPb.InputPropertiesError.deserializeBinary(detail.getValue_asU8());
            for (const entry of details.getErrorsList()) propertyErrors.push({ propertyPath: entry.getPropertyPath(), reason: entry.getReason() });
        }
    }
    return { message: error.details ?? error.message, propertyErrors };
}

/** Go's `%v` of a float64 (strconv shortest 'g': the exponent form from 1e+06 up and below 1e-04). */
function goFloat(value: number): string {
    if (value === 0 || !Number.isFinite(value)) return String(value).replace("Infinity", "Inf");
    const [mantissa, exponentText] = value.toExponential().split("e");
    const exponent = Number(exponentText);
    if (exponent < -4 || exponent >= 6) return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
    return String(value);
}

/**
 * How the engine prints a property value with `%v`: resource.PropertyValue.String (sdk/go/common/resource/
 * properties.go v3.248.0 :648-662) on the value as the engine holds a remote component's inputs, every secret an
 * output value that is known and secret (see `engineConstructInputs`). A secret prints as `{&{<element>}}`: Go's
 * `%v` of the *Secret that MakeSecret makes, whose Element is printed by its own String. An unknown prints as its
 * type and `{}` (an unknown string: `output<string>{}`). Objects print as Go prints a map: keys sorted.
 */
export function goPropertyValue(value: PropertyValue): string {
    if (isSecret(value)) return `{&{${goPropertyValue(value.value as PropertyValue)}}}`;
    if (isUnknown(value)) return "output<string>{}";
    if (value === null) return "{<nil>}";
    if (typeof value === "number") return `{${goFloat(value)}}`;
    if (typeof value === "boolean" || typeof value === "string") return `{${value}}`;
    if (Array.isArray(value)) return `{[${value.map(goPropertyValue).join(" ")}]}`;
    if (SIG_KEY in value) throw new Error(`the emulator prints secrets and unknowns, not ${JSON.stringify(value[SIG_KEY])} values`);
    return `{map[${Object.keys(value).sort().map(key => `${key}:${goPropertyValue(value[key])}`).join(" ")}]}`;
}

/** resource.ParsePropertyPath's simple forms (`a.b`, `a[0]`, `a["b.c"]`) and PropertyPath.Get, which stops at anything but objects and arrays. */
function valueAtPath(inputs: PropertyMap, propertyPath: string): PropertyValue | undefined {
    const keys: (string | number)[] = [];
    const pattern = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/gy;
    let rest = propertyPath;
    while (rest.length > 0) {
        pattern.lastIndex = 0;
        const match = pattern.exec(rest);
        if (!match) return undefined;
        keys.push(match[1] ?? (match[2] !== undefined ? Number(match[2]) : JSON.parse(`"${match[3]}"`)));
        rest = rest.slice(match[0].length);
        if (rest.startsWith(".")) rest = rest.slice(1);
    }
    let value: PropertyValue = inputs;
    for (const key of keys) {
        if (Array.isArray(value) && typeof key === "number" && key < value.length) value = value[key];
        else if (value !== null && typeof value === "object" && !Array.isArray(value) && !isSecret(value) && typeof key === "string" && key in value) value = value[key];
        else return undefined;
    }
    return value;
}

/**
 * What the engine reports when Construct fails: diag.GetResourceInvalidError, `<type> resource '<name>' has a
 * problem: <message>` (sdk/go/common/diag/errors.go v3.248.0 :36), with errorToMessage's message
 * (pkg/resource/deploy/source_eval.go v3.248.0 :1990-2016): the status message, then one line per
 * InputPropertiesError entry, naming the value the program gave at that path when the path leads to one.
 */
export function constructFailure(type: string, name: string, error: grpc.ServiceError, inputs: PropertyMap): string {
    const { message, propertyErrors } = decodeRpcError(error);
    let text = message;
    for (const entry of propertyErrors) {
        const value = valueAtPath(inputs, entry.propertyPath);
        text += value === undefined
            ? `\n\t\t- property ${entry.propertyPath} has a problem: ${entry.reason}`
            : `\n\t\t- property ${entry.propertyPath} with value '${goPropertyValue(value)}' has a problem: ${entry.reason}`;
    }
    return `${type} resource '${name}' has a problem: ${text}`;
}

/**
 * The engine's filter on every diagnostic it displays (pkg/engine/events.go v3.248.0 makeEventEmitter :416-436 with
 * logging.CreateFilter, sdk/go/common/util/logging/log.go :397-421): each secret configuration value of three
 * characters or more, other than true and false, and its JSON-escaped form, replaced by `[secret]`.
 */
export function filterSecureValues(text: string, secureValues: readonly string[]): string {
    let filtered = text;
    for (const value of secureValues) {
        if (value.length < 3 || /^(true|false)$/i.test(value)) continue;
        filtered = filtered.split(value).join("[secret]");
        const escaped = JSON.stringify(value).slice(1, -1);
        if (escaped !== value) filtered = filtered.split(escaped).join("[secret]");
    }
    return filtered;
}

const REFERENCE = /^\$\{([^}]+)\}$/;

/** Evaluates the YAML program's `config:` against the stack configuration (types, defaults, secrets). */
function yamlConfig(project: Project, config: Record<string, string>, secretKeys: string[]): Map<string, PropertyValue> {
    const values = new Map<string, PropertyValue>();
    for (const [name, declaration] of Object.entries(project.config as Record<string, { type?: string; default?: unknown; secret?: boolean }>)) {
        const key = `${project.name}:${name}`;
        let value: PropertyValue;
        if (key in config) {
            const text = config[key];
            value = declaration.type === "integer" || declaration.type === "number" ? Number(text) : declaration.type === "boolean" ? text === "true" : text;
        } else if (declaration.default !== undefined) {
            value = declaration.default as PropertyValue;
        } else {
            throw new Error(`Missing required configuration variable '${key}'\n\tplease set a value using the command \`pulumi config set ${name} <value>\``);
        }
        values.set(name, declaration.secret || secretKeys.includes(key) ? secret(value) : value);
    }
    return values;
}

/** Replaces `${name}` references with configuration values (whole-string references only, as examples/yaml uses). */
function resolve(value: unknown, values: Map<string, PropertyValue>, where: string): PropertyValue {
    if (typeof value === "string") {
        const match = REFERENCE.exec(value);
        if (!match) {
            if (value.includes("${")) throw new Error(`${where}: the emulator evaluates whole-value \${...} references only`);
            return value;
        }
        if (!values.has(match[1])) throw new Error(`${where}: unknown reference \${${match[1]}}`);
        return values.get(match[1])!;
    }
    if (Array.isArray(value)) return value.map((item, i) => resolve(item, values, `${where}[${i}]`));
    if (value !== null && typeof value === "object") {
        const keys = Object.keys(value);
        if (keys.some(k => k.startsWith("fn::"))) {
            if (keys.length !== 1 || keys[0] !== "fn::secret") throw new Error(`${where}: the emulator evaluates fn::secret only, alone in its object`);
            return secret(resolve((value as Record<string, unknown>)["fn::secret"], values, `${where}.fn::secret`));
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, values, `${where}.${k}`)]));
    }
    return value as PropertyValue;
}

export interface YamlRunArgs {
    readonly project: Project;
    readonly stack: string;
    readonly deployment: Deployment;
    readonly monitor: string;
    readonly engine: string;
    readonly dryRun: boolean;
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
}

/** Runs a Pulumi YAML program whose resources are components of local packages. */
export async function runYamlProgram(args: YamlRunArgs): Promise<{ schemas: Map<string, string> }> {
    const { project, deployment } = args;
    const document = project.document;
    for (const key of Object.keys(document)) {
        if (!["name", "runtime", "description", "packages", "config", "resources", "outputs"].includes(key)) {
            throw new Error(`Pulumi.yaml: the emulator does not evaluate '${key}' of a YAML program`);
        }
    }
    const values = yamlConfig(project, args.config, args.secretKeys);
    const stack = await deployment.register({
        type: "pulumi:pulumi:Stack", name: `${project.name}-${args.stack}`, parent: "", custom: false, remote: false, object: {},
        provider: "", version: "", dependencies: [], propertyDependencies: {}, ignoreChanges: [], replaceOnChanges: [],
        additionalSecretOutputs: [], aliasURNs: [],
    });
    deployment.rootUrn = stack.urn;
    const packages = (document.packages ?? {}) as Record<string, string>;
    const plugins = new Map<string, RunningPlugin>();
    const protocols = new Map<string, PluginProtocol>();
    const schemas = new Map<string, string>();
    const outputs = new Map<string, PropertyMap>();
    try {
        for (const [name, resource] of Object.entries((document.resources ?? {}) as Record<string, { type: string; properties?: unknown; options?: unknown }>)) {
            if (resource.options) throw new Error(`resources.${name}.options: the emulator does not evaluate resource options of a YAML program`);
            const pkg = resource.type.split(":")[0];
            if (!(pkg in packages)) throw new Error(`resources.${name}: ${resource.type} is not from a package of 'packages:'; the emulator constructs local components only`);
            let plugin = plugins.get(pkg);
            if (!plugin) {
                plugin = await startPlugin(path.resolve(project.root, packages[pkg]), project.pwd, args.engine);
                plugins.set(pkg, plugin);
                schemas.set(pkg, await getSchema(plugin));
                protocols.set(pkg, await configure(plugin, pkg, project.name, args.stack));
            }
            const inputs = resolve(resource.properties ?? {}, values, `resources.${name}.properties`) as PropertyMap;
            try {
                const result = await construct(plugin, protocols.get(pkg)!, {
                    project: project.name, stack: args.stack, dryRun: args.dryRun, monitor: args.monitor, type: resource.type, name,
                    parent: stack.urn, inputs, config: args.config, secretKeys: args.secretKeys,
                });
                outputs.set(name, result.state);
            } catch (error) {
                // The engine reports the failure as a diagnostic of the resource, shown through its secret filter.
                const secureValues = args.secretKeys.map(key => args.config[key]);
                const diagnostic = filterSecureValues(constructFailure(resource.type, name, error as grpc.ServiceError, inputs), secureValues);
                deployment.log("error", diagnostic);
                const stderr = filterSecureValues(plugin.stderr(), secureValues);
                throw new Error(`${diagnostic}${stderr ? `\n--- plugin stderr ---\n${stderr}` : ""}`);
            }
        }
        const stackOutputs: PropertyMap = {};
        for (const [name, expression] of Object.entries((document.outputs ?? {}) as Record<string, string>)) {
            const match = REFERENCE.exec(String(expression));
            const [resource, property] = match ? match[1].split(".") : [];
            if (!match || !property || !outputs.has(resource)) {
                throw new Error(`outputs.${name}: the emulator evaluates \${resource.output} references only`);
            }
            const value = outputs.get(resource)![property];
            if (value !== undefined) stackOutputs[name] = value;
        }
        deployment.registerOutputs(stack.urn, stackOutputs);
    } finally {
        for (const plugin of plugins.values()) await plugin.stop();
    }
    return { schemas };
}
