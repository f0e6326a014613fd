// Emulated @pulumi/docker 5.2 (pulumi-docker provider/ for Image, the Terraform bridge of
// kreuzwerker/terraform-provider-docker v4.5.0 for Container, RemoteImage and Network). Resources are real:
// each operation drives the Docker Engine through the `docker` CLI. Check and Diff need no Docker, so a preview
// runs anywhere; creating, changing or deleting without a reachable Docker Engine is refused.
// - Image (provider/provider.go): Check (141-237) requires the Dockerfile to exist (resolved from the provider's
//   working directory), adds `platform: linux/<GOARCH>` and a `contextDigest` of the build context (rules.ts
//   `hashContext`, shared with the e2e executor: provider.go:606-684, names, Go file modes and contents of regular
//   files and symlinks, ignore files applied); Diff (271-328) compares stored inputs and is always an update (a rebuild),
//   never a replacement; Delete (490-495) does nothing; outputs (image.go:286-300) are imageName, baseImageName,
//   registryServer "", context, dockerfile, platform and repoDigest = the local image id for an unpushed build,
//   unknown at preview (buildOnPreview defaults to false).
// - Container (resource_docker_container.go): every argument is ForceNew except those of rules.ts
//   `CONTAINER_IN_PLACE` (healthcheck, start, max_retry_count, init, tmpfs, restart, must_run, ...); Update
//   (funcs.go:991-1077) starts a container whose must_run went from false to true and updates the restart policy,
//   the rest only changes the state; env, labels, upload and networks_advanced are sets (order does not matter); the
//   provider declares DeleteBeforeReplace (pulumi-docker resources.go:112-114). Diff compares the state Read left
//   (rules.ts `containerReadBack`: ports read back, must_run false for a stopped container, funcs.go:800-845) with
//   the new inputs, as the bridge diffs state against config. Create (funcs.go:586-673) creates, uploads files (tar at
//   "/", mode 0644), starts and reads back; it does not wait for "running" (#841). The container is created through the
//   Engine API with the request the provider's client sends (rules.ts `containerCreateRequest`), its `healthcheck` in
//   either form; Read takes the health check back with Go's duration strings (funcs.go:960-969); with `wait` the create then polls the container's health every second until it is
//   healthy, failing after `waitTimeout` seconds (default 60) with "container failed to be in healthy state", or at
//   once when the container has no health check (resourceDockerContainerCreate, waitForHealthyState).
// - RemoteImage: `name` is ForceNew, keepLocally updates in place; the local image is used when present
//   (findImage), pulled otherwise; delete removes the image unless keepLocally.
// - Network: every argument is ForceNew.
// - DiffConfig (pulumi-terraform-bridge pkg/tfbridge/provider.go `configDiffer`): a changed configuration replaces
//   only through a ForceNew config property, and the docker provider's configuration has none: moving resources
//   to another docker provider (an explicit one, or a new default version) never replaces them.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PropertyMap, UNKNOWN, containsUnknowns, reveal } from "../values";
import { CheckFailure, CheckResult, CreateResult, DiffResult, EmulatedProvider, ProviderContext, unsupportedType } from "./provider";
import {
    CONTAINER_DELETE_BEFORE_REPLACE, HOST_ARCHITECTURE, InspectedContainer, containerChangedKeys, containerCreateRequest, containerDefaults,
    containerReadBack, containerReplaceKeys, hashContext, imageReplaceKeys, remoteImageReplaceKeys, stableJson,
} from "./rules";
import { engineRequest } from "./engineApi";

const IMAGE = "docker:index/image:Image";
const CONTAINER = "docker:index/container:Container";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
const NETWORK = "docker:index/network:Network";

/** The inputs the real operations here carry out; any other is refused rather than silently dropped. */
const OPERATED: Record<string, Set<string>> = {
    [CONTAINER]: new Set([
        "name", "image", "envs", "ports", "labels", "restart", "networksAdvanced", "uploads", "mustRun", "start", "healthcheck", "wait", "waitTimeout",
    ]),
    [IMAGE]: new Set(["imageName", "build", "skipPush", "buildOnPreview"]),
    [REMOTE_IMAGE]: new Set(["name", "keepLocally"]),
    [NETWORK]: new Set(["name", "driver"]),
};

function refuseUnoperated(type: string, inputs: PropertyMap, urn: string): void {
    const extra = Object.keys(inputs).filter(k => !OPERATED[type]?.has(k));
    if (extra.length) {
        throw new Error(`${urn}: the emulated docker provider does not carry out ${extra.join(", ")} of ${type}; ` +
            "add it to test/emulator/providers/docker.ts from the provider's source first");
    }
    if (type === IMAGE && reveal(inputs.skipPush ?? false) !== true) {
        throw new Error(`${urn}: docker.Image pushes unless skipPush is true, and no registry is reachable from the emulator`);
    }
}

function docker(args: string[], input?: Buffer, cwd?: string, env?: NodeJS.ProcessEnv): string {
    const result = spawnSync("docker", args, { input, cwd, env, maxBuffer: 64 * 1024 * 1024 });
    if (result.error) throw new Error(`docker ${args[0]}: ${result.error.message}`);
    if (result.status !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed: ${result.stderr.toString().trim()}`);
    return result.stdout.toString().trim();
}

/** Refuses an operation when no Docker Engine answers. */
function requireDocker(urn: string, env: NodeJS.ProcessEnv): void {
    const result = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", env });
    if (result.error || result.status !== 0) {
        throw new Error(`${urn}: the emulated docker provider creates, changes and deletes real Docker resources, and no ` +
            "Docker Engine answers here (docker info failed); run previews only, or start Docker (test/e2e/infra/start-docker.sh)");
    }
}

/** A tar archive with one regular file, as the provider uploads (funcs.go:505-586). */
function tarOf(file: string, content: Buffer): Buffer {
    const header = Buffer.alloc(512);
    const name = file.replace(/^\//, "");
    header.write(name, 0, 100, "utf8");
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(content.length.toString(8).padStart(11, "0") + "\0", 124);
    header.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, "0") + "\0", 136);
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0", 257);
    header.write("00", 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
    return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

export class DockerProvider implements EmulatedProvider {
    readonly name = "docker";
    private host: string | undefined;

    /** `pwd`: the provider's working directory, against which relative paths (context, Dockerfile) resolve. */
    constructor(private readonly pwd: string) {}

    configure(config: PropertyMap): void {
        const host = reveal(config.host ?? null);
        this.host = typeof host === "string" ? host : undefined;
    }

    diffConfig(): boolean {
        return false;
    }

    check(type: string, _olds: PropertyMap | undefined, news: PropertyMap): CheckResult {
        const failures: CheckFailure[] = [];
        if (type === IMAGE) {
            const build = reveal(news.build ?? null) as PropertyMap | null;
            const inputs: PropertyMap = { ...news };
            if (!news.imageName) failures.push({ property: "imageName", reason: "missing required property 'imageName'" });
            if (build && !containsUnknowns(build)) {
                const context = path.resolve(this.pwd, String(build.context ?? "."));
                const dockerfile = path.resolve(this.pwd, String(build.dockerfile ?? path.join(String(build.context ?? "."), "Dockerfile")));
                if (!fs.existsSync(dockerfile)) {
                    failures.push({ property: "build.dockerfile", reason: `could not open dockerfile at relative path ${String(build.dockerfile)}` });
                } else if (fs.existsSync(`${dockerfile}.dockerignore`)) {
                    // The classic builder of the docker CLI here reads only <context>/.dockerignore; BuildKit, which the
                    // provider uses, prefers <Dockerfile>.dockerignore: the image would differ, so refuse.
                    failures.push({ property: "build.dockerfile", reason: `${dockerfile}.dockerignore: a Dockerfile-specific ignore file is not applied by the emulator's builder` });
                } else {
                    inputs.build = { ...news.build as PropertyMap, platform: build.platform ?? `linux/${HOST_ARCHITECTURE}`, contextDigest: hashContext(context, dockerfile) };
                }
            }
            return { inputs, failures };
        }
        if (type === CONTAINER) {
            if (!news.image) failures.push({ property: "image", reason: "missing required property 'image'" });
            return { inputs: containerDefaults(news as Record<string, unknown>) as PropertyMap, failures };
        }
        if (type === REMOTE_IMAGE) {
            if (!news.name) failures.push({ property: "name", reason: "missing required property 'name'" });
            return { inputs: news, failures };
        }
        if (type === NETWORK) return { inputs: news, failures };
        return unsupportedType(this.name, type);
    }

    diff(type: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap): DiffResult {
        const olds = reveal(oldInputs) as Record<string, unknown>;
        const next = reveal(news) as Record<string, unknown>;
        const unknown = Object.keys(news).filter(k => containsUnknowns(news[k]));
        // The bridge diffs the state Read left (the outputs) against the new inputs; pulumi-docker's Image its stored inputs.
        const compared = type === CONTAINER
            ? containerChangedKeys(olds, reveal(oldOutputs) as Record<string, unknown>, next)
            : [...new Set([...Object.keys(olds), ...Object.keys(next)])].filter(k => stableJson(olds[k] ?? null) !== stableJson(next[k] ?? null));
        const changed = [...new Set([...compared, ...unknown])].sort();
        const replaceKeys = type === CONTAINER ? containerReplaceKeys(changed)
            : type === REMOTE_IMAGE ? remoteImageReplaceKeys(changed)
                : type === IMAGE ? imageReplaceKeys() : changed;
        // The state Read left, as the display shows the container's "before" (the inputs for what the state lacks).
        const oldValues = type === CONTAINER
            ? { ...oldInputs, ...Object.fromEntries(Object.entries(oldOutputs).filter(([key]) => key in oldInputs || key in news)) }
            : undefined;
        return { changedKeys: changed, replaceKeys, deleteBeforeReplace: type === CONTAINER && CONTAINER_DELETE_BEFORE_REPLACE, oldValues };
    }

    /** The docker CLI against this provider's daemon (`host`), in its working directory. */
    private run(args: string[], input?: Buffer): string {
        return docker(args, input, this.pwd, this.env());
    }

    private env(): NodeJS.ProcessEnv {
        return this.host ? { ...process.env, DOCKER_HOST: this.host } : process.env;
    }

    async create(type: string, inputs: PropertyMap, ctx: ProviderContext, preview: boolean): Promise<CreateResult> {
        if (preview) {
            if (type === IMAGE) return { id: UNKNOWN, outputs: this.imageOutputs(inputs, UNKNOWN) };
            if (type === REMOTE_IMAGE) return { id: UNKNOWN, outputs: { ...inputs, imageId: UNKNOWN, repoDigest: UNKNOWN } };
            return { id: UNKNOWN, outputs: { ...inputs } };
        }
        requireDocker(ctx.urn, this.env());
        refuseUnoperated(type, inputs, ctx.urn);
        const plain = reveal(inputs) as PropertyMap;
        if (type === NETWORK) {
            const id = this.run(["network", "create", ...(plain.driver ? ["--driver", String(plain.driver)] : []), String(plain.name)]);
            return { id, outputs: { ...inputs, driver: plain.driver ?? "bridge" } };
        }
        if (type === REMOTE_IMAGE) {
            const name = String(plain.name);
            let imageId = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", name], { encoding: "utf8", env: this.env() }).stdout.trim();
            if (!imageId) {
                this.run(["pull", name]);
                imageId = this.run(["image", "inspect", "--format", "{{.Id}}", name]);
            }
            return { id: `${imageId}${name}`, outputs: { ...inputs, imageId, repoDigest: "" } };
        }
        if (type === IMAGE) return { id: String(plain.imageName), outputs: this.build(inputs) };
        if (type === CONTAINER) return this.createContainer(inputs, ctx);
        return unsupportedType(this.name, type);
    }

    private imageOutputs(inputs: PropertyMap, repoDigest: string): PropertyMap {
        const build = reveal(inputs.build ?? {}) as PropertyMap;
        return {
            ...inputs,
            imageName: inputs.imageName,
            baseImageName: inputs.imageName,
            registryServer: "",
            context: build.context ?? ".",
            dockerfile: build.dockerfile ?? "Dockerfile",
            platform: build.platform ?? `linux/${HOST_ARCHITECTURE}`,
            repoDigest,
        };
    }

    private build(inputs: PropertyMap): PropertyMap {
        const plain = reveal(inputs) as PropertyMap;
        const build = plain.build as PropertyMap;
        const imageName = String(plain.imageName);
        const context = String(build.context ?? ".");
        const args = ["build", "--quiet", "-t", imageName, "-f", String(build.dockerfile ?? path.join(context, "Dockerfile"))];
        for (const [k, v] of Object.entries((build.args as Record<string, string> | undefined) ?? {})) args.push("--build-arg", `${k}=${v}`);
        args.push(context);
        this.run(args);
        return this.imageOutputs(inputs, this.run(["image", "inspect", "--format", "{{.Id}}", imageName]));
    }

    private async createContainer(inputs: PropertyMap, ctx: ProviderContext): Promise<CreateResult> {
        const plain = reveal(inputs) as PropertyMap;
        const name = String(plain.name ?? ctx.urn.split("::").pop());
        // ContainerCreate through the Engine API, as the provider's client sends it (rules.ts `containerCreateRequest`):
        // the docker CLI cannot give a health check in the exec form.
        const { body } = containerCreateRequest({ ...plain, name });
        const created = await engineRequest<{ Id: string }>(this.env().DOCKER_HOST, "POST", `/containers/create?name=${encodeURIComponent(name)}`, body);
        const id = created.Id;
        const networks = (plain.networksAdvanced as PropertyMap[] | undefined) ?? [];
        try {
            for (const upload of (plain.uploads as PropertyMap[] | undefined) ?? []) {
                const content = upload.contentBase64 !== undefined
                    ? Buffer.from(String(upload.contentBase64), "base64")
                    : Buffer.from(String(upload.content ?? ""), "utf8");
                this.run(["cp", "-", `${id}:/`], tarOf(String(upload.file), content));
            }
            for (const network of networks.slice(1)) {
                this.run(["network", "connect", ...((network.aliases as string[] | undefined) ?? []).flatMap(a => ["--alias", a]), String(network.name), id]);
            }
            if (plain.mustRun !== false || plain.start !== false) {
                this.run(["start", id]);
                if (plain.wait === true) await this.waitForHealthy(id, Number(plain.waitTimeout ?? 60));
            }
        } catch (error) {
            this.run(["rm", "-f", id]);
            throw error;
        }
        // Create ends with Read (funcs.go:673): the state is what Read leaves.
        return { id, outputs: this.readContainer(id, { ...inputs, name })! };
    }

    /** Read of a container (rules.ts `containerReadBack`): its state from `docker inspect`, or undefined when it is gone. */
    private readContainer(id: string, state: PropertyMap): PropertyMap | undefined {
        const inspect = spawnSync("docker", ["inspect", "--type", "container", id], { encoding: "utf8", env: this.env() });
        if (inspect.status !== 0) {
            if (/No such (object|container)/i.test(inspect.stderr)) return undefined;
            throw new Error(`docker inspect failed: ${inspect.stderr.trim()}`);
        }
        const container = JSON.parse(inspect.stdout)[0] as InspectedContainer;
        // Secrets stay wrapped: only the values Read sets are replaced.
        const read = containerReadBack(container, reveal(state) as Record<string, unknown>);
        const changed = Object.fromEntries(Object.entries(read).filter(([key, value]) => stableJson(value) !== stableJson(reveal(state[key] ?? null))));
        return { ...state, ...changed as PropertyMap };
    }

    /** waitForHealthyState: the container's health every second until healthy, within the timeout. */
    private async waitForHealthy(id: string, timeoutSeconds: number): Promise<void> {
        const deadline = Date.now() + timeoutSeconds * 1000;
        for (;;) {
            const health = this.run(["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", id]);
            if (health === "") {
                throw new Error("you have supplied a 'wait' argument, but the container does not have a healthcheck defined. " +
                    "Please remove the 'wait' argument or add a 'healthcheck' attribute");
            }
            if (health === "healthy") return;
            if (Date.now() >= deadline) throw new Error("container failed to be in healthy state");
            await new Promise(resolve => setTimeout(resolve, 1000));
        }
    }

    async update(type: string, id: string, oldOutputs: PropertyMap, news: PropertyMap, ctx: ProviderContext, preview: boolean): Promise<PropertyMap> {
        if (type === IMAGE) {
            if (preview) return this.imageOutputs(news, UNKNOWN);
            requireDocker(ctx.urn, this.env());
            refuseUnoperated(type, news, ctx.urn);
            return this.build(news);
        }
        if (preview) return { ...oldOutputs, ...news };
        requireDocker(ctx.urn, this.env());
        refuseUnoperated(type, news, ctx.urn);
        if (type === CONTAINER) {
            // resourceDockerContainerUpdate (funcs.go:991-1077): must_run false -> true starts it (when `start`);
            // a restart policy change is a ContainerUpdate; other in-place arguments only change the state.
            const plain = reveal(news) as PropertyMap;
            const state = reveal(oldOutputs) as PropertyMap;
            if (state.mustRun === false && plain.mustRun !== false && plain.start !== false) this.run(["start", id]);
            if ((state.restart ?? "no") !== (plain.restart ?? "no")) this.run(["update", "--restart", String(plain.restart ?? "no"), id]);
            const read = this.readContainer(id, { ...oldOutputs, ...news });
            if (!read) throw new Error(`${ctx.urn}: container ${id.slice(0, 12)} no longer exists`);
            return read;
        }
        return { ...oldOutputs, ...news };
    }

    async delete(type: string, id: string, outputs: PropertyMap, ctx: ProviderContext): Promise<void> {
        if (type === IMAGE) return;
        requireDocker(ctx.urn, this.env());
        if (type === CONTAINER) this.run(["rm", "-f", id]);
        else if (type === NETWORK) this.run(["network", "rm", id]);
        else if (type === REMOTE_IMAGE && reveal(outputs.keepLocally ?? false) !== true) {
            spawnSync("docker", ["rmi", String(reveal(outputs.imageId ?? ""))], { env: this.env() });
        }
    }

    async read(type: string, id: string, outputs: PropertyMap, ctx: ProviderContext): Promise<PropertyMap | undefined> {
        requireDocker(ctx.urn, this.env());
        if (type === CONTAINER) return this.readContainer(id, outputs);
        if (type === NETWORK) {
            return spawnSync("docker", ["network", "inspect", id], { env: this.env() }).status === 0 ? outputs : undefined;
        }
        return outputs;
    }
}

/** True when a Docker Engine answers (e2e suites skip otherwise). */
export function dockerAvailable(): boolean {
    try {
        execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}
