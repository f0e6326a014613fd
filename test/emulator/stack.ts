// The CLI side of the emulator: a workspace (state directory) holding stacks, their configuration and their
// checkpoints, and the commands a user types: `pulumi config set [--secret]`, `preview`, `up`, `destroy`,
// `refresh`, `stack output`. Secrets are encrypted at rest with a key of the workspace (AES-256-GCM), as the
// passphrase secrets provider does: neither the stack configuration nor the checkpoint holds a secret in plain text.
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Deployment, ProviderFactory, ResourceState, Step, destroy, refresh } from "./engine";
import { loadProject, programCommand, Project } from "./project";
import { CommandProvider } from "./providers/command";
import { DockerProvider } from "./providers/docker";
import { EmulatedProvider } from "./providers/provider";
import { RandomProvider } from "./providers/random";
import { TlsProvider } from "./providers/tls";
import { renderPreview } from "./render";
import { runYamlProgram } from "./plugin";
import { serve } from "./rpc";
import { PropertyMap, PropertyValue, SECRET_SIG, SIG_KEY, isSecret, reveal } from "./values";

/** The emulated providers, one new instance per provider resource. */
export const defaultProviders: ProviderFactory = (pkg: string, pwd: string): EmulatedProvider => {
    switch (pkg) {
        case "random": return new RandomProvider();
        case "command": return new CommandProvider();
        case "docker": return new DockerProvider(pwd);
        case "tls": return new TlsProvider();
        default:
            throw new Error(`no emulated provider for package ${pkg}; the emulator has random, command, docker and tls`);
    }
};

interface ConfigEntry {
    value?: string;
    secure?: string;
}

export interface RunResult {
    readonly steps: Step[];
    readonly diagnostics: Deployment["diagnostics"];
    /** `pulumi preview --diff` text (also for up: the plan that ran). */
    readonly text: string;
    /** What the program printed. */
    readonly stdout: string;
    readonly stderr: string;
    /** The RPC methods the program called. */
    readonly calls: string[];
    readonly state: ResourceState[];
    /** For a YAML program: the schema each package's plugin served (GetSchema), by package name. */
    readonly schemas?: Map<string, string>;
}

export class Workspace {
    private readonly key: Buffer;

    constructor(readonly stateDirectory: string, private readonly providers: ProviderFactory = defaultProviders) {
        fs.mkdirSync(stateDirectory, { recursive: true });
        const keyFile = path.join(stateDirectory, "secrets.key");
        if (!fs.existsSync(keyFile)) fs.writeFileSync(keyFile, crypto.randomBytes(32), { mode: 0o600 });
        this.key = fs.readFileSync(keyFile);
    }

    encrypt(plain: string): string {
        const iv = crypto.randomBytes(12);
        const cipher = crypto.createCipheriv("aes-256-gcm", this.key, iv);
        const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
        return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
    }

    decrypt(text: string): string {
        const data = Buffer.from(text, "base64");
        const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, data.subarray(0, 12));
        decipher.setAuthTag(data.subarray(12, 28));
        return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString("utf8");
    }

    stack(programDirectory: string, name: string): Stack {
        return new Stack(this, loadProject(programDirectory), name, this.providers);
    }

    /** Secrets in a value encrypted, as the checkpoint stores them. */
    sealSecrets(value: PropertyValue): PropertyValue {
        if (isSecret(value)) return { [SIG_KEY]: SECRET_SIG, ciphertext: this.encrypt(JSON.stringify(value.value)) };
        if (Array.isArray(value)) return value.map(v => this.sealSecrets(v));
        if (value !== null && typeof value === "object") {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.sealSecrets(v as PropertyValue)]));
        }
        return value;
    }

    openSecrets(value: PropertyValue): PropertyValue {
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
            if (value[SIG_KEY] === SECRET_SIG && typeof value.ciphertext === "string") {
                return { [SIG_KEY]: SECRET_SIG, value: this.openSecrets(JSON.parse(this.decrypt(value.ciphertext)) as PropertyValue) };
            }
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.openSecrets(v)]));
        }
        if (Array.isArray(value)) return value.map(v => this.openSecrets(v));
        return value;
    }
}

export class Stack {
    constructor(
        readonly workspace: Workspace,
        readonly project: Project,
        readonly name: string,
        private readonly providers: ProviderFactory,
    ) {}

    private file(suffix: string): string {
        return path.join(this.workspace.stateDirectory, `${this.project.name}.${this.name}.${suffix}`);
    }

    private readConfigFile(): Record<string, ConfigEntry> {
        const file = this.file("config.json");
        return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    }

    private fullKey(key: string): string {
        return key.includes(":") ? key : `${this.project.name}:${key}`;
    }

    /** `pulumi config set [--secret] key value`. */
    configSet(key: string, value: string, options: { secret?: boolean } = {}): void {
        const config = this.readConfigFile();
        config[this.fullKey(key)] = options.secret ? { secure: this.workspace.encrypt(value) } : { value };
        fs.writeFileSync(this.file("config.json"), JSON.stringify(config, null, 2));
    }

    /** `pulumi config rm key`. */
    configRemove(key: string): void {
        const remaining = Object.entries(this.readConfigFile()).filter(([k]) => k !== this.fullKey(key));
        fs.writeFileSync(this.file("config.json"), JSON.stringify(Object.fromEntries(remaining), null, 2));
    }

    /** The decrypted configuration and its secret keys, as the engine hands them to the language host. */
    config(): { values: Record<string, string>; secretKeys: string[] } {
        const values: Record<string, string> = {};
        const secretKeys: string[] = [];
        for (const [key, entry] of Object.entries(this.readConfigFile())) {
            if (entry.secure !== undefined) {
                values[key] = this.workspace.decrypt(entry.secure);
                secretKeys.push(key);
            } else {
                values[key] = entry.value ?? "";
            }
        }
        return { values, secretKeys };
    }

    /** The checkpoint's resources (secrets decrypted into secret wrappers). */
    state(): ResourceState[] {
        const file = this.file("checkpoint.json");
        if (!fs.existsSync(file)) return [];
        const checkpoint = JSON.parse(fs.readFileSync(file, "utf8"));
        return (checkpoint.checkpoint.latest.resources as ResourceState[]).map(r => ({
            ...r,
            inputs: this.workspace.openSecrets(r.inputs) as PropertyMap,
            outputs: this.workspace.openSecrets(r.outputs) as PropertyMap,
        }));
    }

    /** The checkpoint file's path (its text never holds a secret in plain text). */
    get checkpointFile(): string {
        return this.file("checkpoint.json");
    }

    private writeState(resources: ResourceState[]): void {
        const sealed = resources.map(r => ({
            ...r,
            inputs: this.workspace.sealSecrets(r.inputs),
            outputs: this.workspace.sealSecrets(r.outputs),
        }));
        const checkpoint = {
            version: 3,
            checkpoint: { stack: `${this.project.name}/${this.name}`, latest: { manifest: { time: new Date().toISOString() }, resources: sealed } },
        };
        fs.writeFileSync(this.file("checkpoint.json"), JSON.stringify(checkpoint, null, 2));
    }

    /** `pulumi stack output [--show-secrets]`: the stack's outputs; secrets stay wrapped unless shown. */
    outputs(options: { showSecrets?: boolean } = {}): PropertyMap {
        const root = this.state().find(r => r.type === "pulumi:pulumi:Stack" && !r.parent);
        const outputs = root?.outputs ?? {};
        return options.showSecrets ? reveal(outputs) as PropertyMap : outputs;
    }

    preview(options: RunOptions = {}): Promise<RunResult> {
        return this.run(true, options);
    }

    up(options: RunOptions = {}): Promise<RunResult> {
        return this.run(false, options);
    }

    private async run(dryRun: boolean, options: RunOptions): Promise<RunResult> {
        const olds = this.state();
        const { values, secretKeys } = this.config();
        const deployment = new Deployment({
            project: this.project.name, stack: this.name, dryRun, olds, providers: this.providers, pwd: this.project.pwd, config: values,
            replaceTargets: options.replace,
        });
        const server = await serve(deployment);
        let stdout = "";
        let stderr = "";
        try {
            if (this.project.runtime === "yaml") {
                // A YAML program: its components run in their package's plugin, which registers with the monitor.
                let schemas: Map<string, string> | undefined;
                try {
                    ({ schemas } = await runYamlProgram({
                        project: this.project, stack: this.name, deployment, monitor: server.address, engine: server.address, dryRun,
                        config: values, secretKeys,
                    }));
                } catch (error) {
                    deployment.failures.push(error as Error);
                }
                return { ...await this.complete(deployment, dryRun, server.calls, "", ""), schemas };
            }
            const command = programCommand({
                project: this.project, stack: this.name, monitor: server.address, engine: server.address, dryRun,
                config: values, secretKeys, env: options.env,
            });
            const code = await new Promise<number | null>((resolve, reject) => {
                const child = spawn(command.command, command.args, { cwd: this.project.pwd, env: command.env, stdio: ["ignore", "pipe", "pipe"] });
                child.stdout.on("data", chunk => (stdout += chunk));
                child.stderr.on("data", chunk => (stderr += chunk));
                child.on("error", reject);
                child.on("close", resolve);
                // A failed step ends the run: the engine cancels the language host's Run, whose context cancels
                // the program with an interrupt and kills it 5 s later (main.go execRuntime: cmd.Cancel sends
                // os.Interrupt, cmd.WaitDelay = 5s). The program first gets a moment to report its error.
                deployment.onFailure = () => {
                    setTimeout(() => child.exitCode === null && child.kill("SIGINT"), 1000).unref();
                    setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), 6000).unref();
                };
            });
            if (code !== 0 && deployment.failures.length === 0) {
                deployment.failures.push(new Error(`Program exited with non-zero exit code: ${code}`));
            }
            return await this.complete(deployment, dryRun, server.calls, stdout, stderr);
        } finally {
            await server.close();
        }
    }

    /** After the program: fails with its reasons, or runs the deletes, then writes the checkpoint (not at preview). */
    private async complete(deployment: Deployment, dryRun: boolean, calls: string[], stdout: string, stderr: string): Promise<RunResult> {
        if (deployment.failures.length > 0) {
            if (!dryRun) this.writeState(deployment.resultingState());
            throw new ProgramError(
                `${dryRun ? "preview" : "update"} of ${this.project.name}/${this.name} failed: ${deployment.failures.map(f => f.message).join("\n")}`,
                stdout, stderr, deployment.diagnostics,
            );
        }
        try {
            await deployment.finish();
        } finally {
            if (!dryRun) this.writeState(deployment.resultingState());
        }
        return {
            steps: deployment.steps, diagnostics: deployment.diagnostics, stdout, stderr, calls,
            text: renderPreview(this.name, deployment.steps, deployment.diagnostics, dryRun ? "Previewing update" : "Updating"),
            state: deployment.resultingState(),
        };
    }

    /** `pulumi destroy`: every resource deleted, dependents first. */
    async destroy(): Promise<RunResult> {
        const deployment = await destroy({
            project: this.project.name, stack: this.name, dryRun: false, olds: this.state(), providers: this.providers,
            pwd: this.project.pwd, config: this.config().values,
        }).catch(error => {
            throw new ProgramError(`destroy of ${this.project.name}/${this.name} failed: ${error.message}`, "", "", []);
        });
        this.writeState(deployment.resultingState());
        return {
            steps: deployment.steps, diagnostics: deployment.diagnostics, stdout: "", stderr: "", calls: [],
            text: renderPreview(this.name, deployment.steps, deployment.diagnostics, "Destroying"), state: deployment.resultingState(),
        };
    }

    /** `pulumi refresh`: the providers read their resources back. */
    async refresh(options: { previewOnly?: boolean } = {}): Promise<Step[]> {
        const result = await refresh({
            project: this.project.name, stack: this.name, dryRun: options.previewOnly ?? false, olds: this.state(),
            providers: this.providers, pwd: this.project.pwd, config: this.config().values,
        });
        if (!options.previewOnly) this.writeState(result.state);
        return result.steps;
    }
}

export interface RunOptions {
    /** Environment the user's shell holds (e.g. PULUMI_NODEJS_TRANSPILE_ONLY). */
    readonly env?: NodeJS.ProcessEnv;
    /** `--replace <urn>`, once per URN. */
    readonly replace?: readonly string[];
}

/** A failed run, with what the program printed and the engine's diagnostics for the test's message. */
export class ProgramError extends Error {
    constructor(message: string, readonly stdout: string, readonly stderr: string, readonly diagnostics: Deployment["diagnostics"]) {
        const errors = diagnostics.filter(d => d.severity === "error").map(d => d.message.trim());
        super(`${message}${errors.length ? `\n--- engine diagnostics ---\n${errors.join("\n")}` : ""}${stderr ? `\n--- program stderr ---\n${stderr}` : ""}${stdout ? `\n--- program stdout ---\n${stdout}` : ""}`);
    }
}
