// The gRPC services the Node.js SDK talks to, served with @grpc/grpc-js and the service definitions @pulumi/pulumi
// ships (proto/resource_grpc_pb.js, proto/engine_grpc_pb.js). Every method of both services is bound: the ones
// the emulator implements answer as the engine does (pulumi/pulumi pkg/resource/deploy/source_eval.go
// resmon.*), every other one fails with UNIMPLEMENTED and a message naming the call, never silently.
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Deployment, Registration } from "./engine";
import { Transforms } from "./transforms";
import { PropertyMap, withoutNulls } from "./values";

/* eslint-disable @typescript-eslint/no-require-imports */
const resourceGrpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
const resourcePb = require("@pulumi/pulumi/proto/resource_pb");
const engineGrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
const enginePb = require("@pulumi/pulumi/proto/engine_pb");
const providerPb = require("@pulumi/pulumi/proto/provider_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The features the emulator answers true for. "secrets" is the engine's own, "transforms" runs as the engine runs
 * them (transforms.js); resource references, output values, structured aliases, hooks and the rest are answered
 * false, so the SDK falls back to what the emulator implements (alias URNs computed by the SDK, plain values with
 * unknowns).
 */
export const SUPPORTED_FEATURES = new Set(["secrets", "transforms"]);

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
 
type Call = grpc.ServerUnaryCall<any, unknown>;

function refuse(method: string, why: string): grpc.ServiceError {
    const error = new Error(`${method} is not implemented by the engine emulator: ${why}`) as grpc.ServiceError;
    error.code = grpc.status.UNIMPLEMENTED;
    error.details = error.message;
    return error;
}

function failed(error: unknown, code = grpc.status.UNKNOWN): grpc.ServiceError {
    const serviceError = new Error((error as Error).message) as grpc.ServiceError;
    serviceError.code = code;
    serviceError.details = serviceError.message;
    return serviceError;
}

function toMap(struct: Struct | undefined): PropertyMap {
    return struct ? withoutNulls(struct.toJavaScript() as PropertyMap) : {};
}

/** Decodes a RegisterResourceRequest into what the engine plans with; refuses options it does not honour. */
 
export function decodeRegistration(req: any): Registration {
    const refusals: string[] = [];
    if (req.getImportid()) refusals.push("import");
    if (req.getDeletedwith()) refusals.push("deletedWith");
    if (req.getReplaceWithList?.().length) refusals.push("replaceWith");
    if (req.getHidediffsList?.().length) refusals.push("hideDiffs");
    if (req.getAliasesList().length) refusals.push("structured aliases (the emulator takes alias URNs)");
    if (refusals.length) {
        throw refuse("RegisterResource", `${req.getType()} ${req.getName()} uses ${refusals.join(", ")}, which the emulator does not honour`);
    }
    const propertyDependencies: Record<string, string[]> = {};
    for (const [key, deps] of req.getPropertydependenciesMap().entries()) propertyDependencies[key] = deps.getUrnsList();
    const timeouts = req.getCustomtimeouts();
    return {
        type: req.getType(),
        name: req.getName(),
        parent: req.getParent(),
        custom: req.getCustom(),
        remote: req.getRemote(),
        object: toMap(req.getObject()),
        provider: req.getProvider(),
        version: req.getVersion(),
        dependencies: req.getDependenciesList(),
        propertyDependencies,
        protect: req.hasProtect?.() ? req.getProtect() : undefined,
        deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
        retainOnDelete: req.getRetainondelete() ? true : undefined,
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        aliasURNs: req.getAliasurnsList(),
        replacementTrigger: req.hasReplacementTrigger?.() ? req.getReplacementTrigger().toJavaScript() : undefined,
        customTimeouts: timeouts
            ? { create: timeouts.getCreate() || undefined, update: timeouts.getUpdate() || undefined, delete: timeouts.getDelete() || undefined }
            : undefined,
    };
}

/** A running monitor + engine server bound to one deployment. */
export interface ProtocolServer {
    readonly address: string;
    /** Every call the SDK made, by method name, for the emulator's own tests. */
    readonly calls: string[];
    close(): Promise<void>;
}

export async function serve(deployment: Deployment): Promise<ProtocolServer> {
    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    const calls: string[] = [];
    const transforms = new Transforms();
    const registerTransformed = (call: Call, callback: Callback) => {
        let registration: Registration;
        try {
            registration = decodeRegistration(call.request);
        } catch (error) {
            deployment.failures.push(error as Error);
            callback(error as grpc.ServiceError);
            return;
        }
        deployment.register(registration).then(result => {
            const response = new resourcePb.RegisterResourceResponse();
            response.setUrn(result.urn);
            response.setId(result.id);
            response.setObject(Struct.fromJavaScript(result.outputs as never));
            response.setResult(resourcePb.Result.SUCCESS);
            transforms.record(result.urn, call.request);
            callback(null, response);
        }, error => callback(failed(error)));
    };
    // Registrations in flight: the program's exit waits for them, as the engine's step executor does.
    const monitor: Record<string, (call: Call, callback: Callback) => void> = {
        supportsFeature(call, callback) {
            const response = new resourcePb.SupportsFeatureResponse();
            response.setHassupport(SUPPORTED_FEATURES.has(call.request.getId()));
            callback(null, response);
        },
        registerResource(call, callback) {
            transforms.apply(call.request).then(() => registerTransformed(call, callback), error => {
                deployment.failures.push(error as Error);
                callback(failed(error));
            });
        },
        registerResourceOutputs(call, callback) {
            try {
                deployment.registerOutputs(call.request.getUrn(), toMap(call.request.getOutputs()));
                callback(null, new Empty());
            } catch (error) {
                callback(failed(error));
            }
        },
        invoke(call, callback) {
            const request = call.request;
            // The SDK sends the arguments with their secrets unwrapped (runtime/invoke.ts `unwrapSecretValues`) and
            // marks the result secret itself when any was secret.
            deployment.invoke(request.getTok(), toMap(request.getArgs()), request.getProvider(), request.getVersion()).then(result => {
                const response = new providerPb.InvokeResponse();
                response.setReturn(Struct.fromJavaScript(result as never));
                callback(null, response);
            }, error => callback(failed(error)));
        },
        signalAndWaitForShutdown(_call, callback) {
            // The engine waits here for delete hooks; the emulator supports no resource hooks, so nothing waits.
            callback(null, new Empty());
        },
    };
    const engine: Record<string, (call: Call, callback: Callback) => void> = {
        log(call, callback) {
            const severities = ["debug", "info", "warning", "error"];
            deployment.log(severities[call.request.getSeverity()] ?? "info", call.request.getMessage(), call.request.getUrn() || undefined);
            callback(null, new Empty());
        },
        getRootResource(_call, callback) {
            const response = new enginePb.GetRootResourceResponse();
            response.setUrn(deployment.rootUrn);
            callback(null, response);
        },
        setRootResource(call, callback) {
            deployment.rootUrn = call.request.getUrn();
            callback(null, new enginePb.SetRootResourceResponse());
        },
    };
    const bind = (service: Record<string, { originalName?: string }>, implemented: Record<string, (call: Call, callback: Callback) => void>, serviceName: string) => {
        const handlers: Record<string, grpc.UntypedHandleCall> = {};
        for (const [method] of Object.entries(service)) {
            const name = method.charAt(0).toLowerCase() + method.slice(1);
            const implementation = implemented[name];
            handlers[method] = (call: Call, callback: Callback) => {
                calls.push(`${serviceName}.${method.charAt(0).toUpperCase()}${method.slice(1)}`);
                if (implementation) implementation(call, callback);
                else callback(refuse(`${serviceName}.${method}`, "the emulator does not implement it; no program here needs it"));
            };
        }
        server.addService(service as unknown as grpc.ServiceDefinition, handlers);
    };
    bind(resourceGrpc.ResourceMonitorService, monitor, "ResourceMonitor");
    bind(engineGrpc.EngineService, engine, "Engine");
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => error ? reject(error) : resolve(bound)));
    return {
        address: `127.0.0.1:${port}`,
        calls,
        // The program has ended when this is called; a call still open belongs to a client that died mid-call
        // (a failed plugin), which graceful shutdown would wait for: force it after a short grace period.
        close: () => new Promise(resolve => {
            transforms.close();
            const force = setTimeout(() => server.forceShutdown(), 1000);
            server.tryShutdown(() => {
                clearTimeout(force);
                resolve();
            });
        }),
    };
}
