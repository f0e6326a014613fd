// The engine's resource transforms (the `transforms` resource option), as pulumi/pulumi
// pkg/resource/deploy/source_eval.go runs them at v3.248.0, for the test doubles of the engine: the emulator's
// resource monitor (rpc.ts) and the mocks the unit tests and program runs use (test/support/mocks.ts,
// test/support/runProgram.js), which the SDK's own MockMonitor runs without (it drops the callbacks).
//
// - RegisterResource (2171-2232): the registration's own transforms run first, then those each parent registered with,
//   nearest parent first, up to the stack; every transform receives what the one before returned.
// - wrapTransformCallback (1344-1419): a transform is the program's callback, invoked through its Callbacks service
//   (`Invoke` with the callback's token and a TransformRequest: type, name, custom, parent, properties, options); the
//   TransformResponse's properties and options replace the registration's, the options as a whole.
// - The transforms a resource registered with and its parent are kept by URN once it is registered (2729-2734).
// Options the doubles cannot honour (import, deletedWith, replaceWith, hooks, structured aliases) are refused when a
// transform changes them, never dropped. Stack transforms
// (RegisterStackTransform) are not implemented: the SDK's call fails on the doubles' monitors.
"use strict";
const path = require("path");

const resourcePb = require("@pulumi/pulumi/proto/resource_pb");
const callbackPb = require("@pulumi/pulumi/proto/callback_pb");
const callbackGrpc = require("@pulumi/pulumi/proto/callback_grpc_pb");
// The gRPC runtime the SDK's generated services are built on, so the client and the service definition match.
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [path.dirname(require.resolve("@pulumi/pulumi/proto/callback_grpc_pb"))] }));

/** The transform options a RegisterResourceRequest carries (source_eval.go:2149-2170). */
function optionsOf(req) {
    const options = new resourcePb.TransformResourceOptions();
    options.setDependsOnList(req.getDependenciesList());
    if (req.hasProtect()) options.setProtect(req.getProtect());
    options.setIgnoreChangesList(req.getIgnorechangesList());
    options.setReplaceOnChangesList(req.getReplaceonchangesList());
    options.setVersion(req.getVersion());
    options.setAliasesList(req.getAliasesList());
    options.setProvider(req.getProvider());
    for (const [key, value] of req.getProvidersMap().entries()) options.getProvidersMap().set(key, value);
    if (req.hasCustomtimeouts()) options.setCustomTimeouts(req.getCustomtimeouts());
    options.setPluginDownloadUrl(req.getPlugindownloadurl());
    if (req.hasRetainondelete()) options.setRetainOnDelete(req.getRetainondelete());
    options.setDeletedWith(req.getDeletedwith());
    if (req.getDeletebeforereplacedefined()) options.setDeleteBeforeReplace(req.getDeletebeforereplace());
    options.setAdditionalSecretOutputsList(req.getAdditionalsecretoutputsList());
    options.setImport(req.getImportid());
    options.setHideDiffList(req.getHidediffsList());
    options.setReplaceWithList(req.getReplaceWithList());
    if (req.hasReplacementTrigger()) options.setReplacementTrigger(req.getReplacementTrigger());
    if (req.hasHooks()) options.setHooks(req.getHooks());
    return options;
}

const bytes = messages => JSON.stringify(messages.map(message => Buffer.from(message.serializeBinary()).toString("base64")));

/**
 * What a transform returned, written back into the request; refuses a change of an option the doubles cannot honour
 * (what the request had already is the doubles' business, as without transforms).
 */
function applyOptions(req, options) {
    const refused = [];
    if (options.getImport() !== req.getImportid()) refused.push("import");
    if (options.getDeletedWith() !== req.getDeletedwith()) refused.push("deletedWith");
    if (JSON.stringify(options.getReplaceWithList()) !== JSON.stringify(req.getReplaceWithList())) refused.push("replaceWith");
    if (bytes(options.hasHooks() ? [options.getHooks()] : []) !== bytes(req.hasHooks() ? [req.getHooks()] : [])) refused.push("hooks");
    if (bytes(options.getAliasesList()) !== bytes(req.getAliasesList())) refused.push("aliases");
    if (refused.length) {
        throw new Error(`a transform of ${req.getType()} ${req.getName()} set ${refused.join(", ")}, which the test doubles of the engine do not honour`);
    }
    req.setDependenciesList(options.getDependsOnList());
    if (options.hasProtect()) req.setProtect(options.getProtect());
    else req.clearProtect();
    req.setIgnorechangesList(options.getIgnoreChangesList());
    req.setReplaceonchangesList(options.getReplaceOnChangesList());
    req.setVersion(options.getVersion());
    req.setProvider(options.getProvider());
    req.clearProvidersMap();
    for (const [key, value] of options.getProvidersMap().entries()) req.getProvidersMap().set(key, value);
    if (options.hasCustomTimeouts()) req.setCustomtimeouts(options.getCustomTimeouts());
    else req.clearCustomtimeouts();
    req.setPlugindownloadurl(options.getPluginDownloadUrl());
    if (options.hasRetainOnDelete()) req.setRetainondelete(options.getRetainOnDelete());
    else req.clearRetainondelete();
    req.setDeletebeforereplacedefined(options.hasDeleteBeforeReplace());
    req.setDeletebeforereplace(options.hasDeleteBeforeReplace() ? options.getDeleteBeforeReplace() : false);
    req.setAdditionalsecretoutputsList(options.getAdditionalSecretOutputsList());
    req.setHidediffsList(options.getHideDiffList());
    if (options.hasReplacementTrigger()) req.setReplacementTrigger(options.getReplacementTrigger());
    else req.clearReplacementTrigger();
}

/**
 * The engine's transform bookkeeping for one deployment. `apply` runs a registration's transforms and rewrites the
 * request before the double registers it; `record` keeps its own transforms and parent by URN once it has one.
 */
class Transforms {
    constructor() {
        /** urn -> the callbacks it registered with */
        this.byUrn = new Map();
        /** urn -> parent urn */
        this.parents = new Map();
        /** target address -> Callbacks client */
        this.clients = new Map();
        /** Every transform invocation, in order: "<callback token> <type> <name>", for the doubles' own tests. */
        this.invocations = [];
    }

    /** The callbacks to run for a request: its own, then each parent's, nearest first (source_eval.go:2177-2224). */
    callbacksFor(req) {
        const callbacks = [...req.getTransformsList()];
        for (let current = req.getParent(); current; current = this.parents.get(current)) {
            callbacks.push(...(this.byUrn.get(current) ?? []));
        }
        return callbacks;
    }

    /** Runs the transforms for a RegisterResourceRequest and writes their result into it. */
    async apply(req) {
        const callbacks = this.callbacksFor(req);
        if (callbacks.length === 0) return;
        let properties = req.getObject();
        let options = optionsOf(req);
        for (const callback of callbacks) {
            const request = new resourcePb.TransformRequest();
            request.setType(req.getType());
            request.setName(req.getName());
            request.setCustom(req.getCustom());
            request.setParent(req.getParent());
            if (properties) request.setProperties(properties);
            request.setOptions(options);
            this.invocations.push(`${callback.getToken()} ${req.getType()} ${req.getName()}`);
            const response = resourcePb.TransformResponse.deserializeBinary(await this.invoke(callback, request.serializeBinary()));
            properties = response.getProperties();
            options = response.getOptions() ?? new resourcePb.TransformResourceOptions();
        }
        if (properties) req.setObject(properties);
        else req.clearObject();
        applyOptions(req, options);
    }

    /** Keeps a registered resource's own transforms and its parent (source_eval.go:2729-2734). */
    record(urn, req) {
        this.parents.set(urn, req.getParent());
        const own = req.getTransformsList();
        if (own.length > 0) this.byUrn.set(urn, own);
    }

    invoke(callback, bytes) {
        const target = callback.getTarget();
        let client = this.clients.get(target);
        if (!client) {
            client = new callbackGrpc.CallbacksClient(target, grpc.credentials.createInsecure());
            this.clients.set(target, client);
        }
        const request = new callbackPb.CallbackInvokeRequest();
        request.setToken(callback.getToken());
        request.setRequest(bytes);
        return new Promise((resolve, reject) =>
            client.invoke(request, (error, response) => (error ? reject(new Error(`invoke transform: ${error.details || error.message}`)) : resolve(response.getResponse_asU8()))),
        );
    }

    close() {
        for (const client of this.clients.values()) client.close();
        this.clients.clear();
    }
}

/**
 * Makes a mock monitor (the SDK's MockMonitor, set by `pulumi.runtime.setMocks`) run transforms as the engine does,
 * and tells the SDK it may send them (setMocks says it may not). `sdkEntry` is the SDK the program runs with (its
 * main file), which must be the copy this module resolves. Returns the bookkeeping, for tests.
 */
function runTransformsOnMocks(pulumi, sdkEntry = require.resolve("@pulumi/pulumi")) {
    const transforms = new Transforms();
    const monitor = pulumi.runtime.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        transforms.apply(req).then(
            () =>
                register(req, (error, response) => {
                    if (!error && response) transforms.record(response.getUrn(), req);
                    callback(error, response);
                }),
            error => callback(error, undefined),
        );
    };
    require(path.join(path.dirname(sdkEntry), "runtime", "state")).getStore().supportsTransforms = true;
    return transforms;
}

module.exports = { Transforms, runTransformsOnMocks };
