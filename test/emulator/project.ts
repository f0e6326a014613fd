// Loading a program as the Pulumi CLI and the Node.js language host do.
// - Pulumi.yaml: `name`, `runtime` (a name or { name, options }), `main`.
// - Working directory and entry point: pulumi/pulumi pkg/engine/project.go `getPwdMain`: without `main`, the
//   project directory and "."; `main` must be a relative path inside the project; a directory becomes the working
//   directory with entry point "."; a file gives its directory and its base name.
// - The command line: sdk/nodejs/cmd/pulumi-language-nodejs/main.go. `Run` locates `@pulumi/pulumi/cmd/run` from
//   the program directory (`locateModule`: `node -e require.resolve(...)` run in that directory);
//   `constructArguments` passes `--monitor`, `--engine`, `--sync`, `--organization`, `--project`,
//   `--root-directory`, `--stack`, `--pwd <program directory>`, `--dry-run` when previewing, `--parallel`,
//   `--tracing` (each only when not empty), then the entry point and the program arguments.
// - The environment (`execRuntime`): the host's own, plus PULUMI_CONFIG (JSON of `<namespace>:config:<key>`, the
//   old key form `constructConfig` keeps for older SDKs), PULUMI_CONFIG_SECRET_KEYS (JSON array of the secret keys),
//   PULUMI_NODEJS_TYPESCRIPT=true unless the runtime option `typescript` is false (`parseOptions`: it defaults to
//   true), PULUMI_NODEJS_TSCONFIG_PATH from the option `tsconfig`, and the `nodeargs` option before the run path.
// The synchronous-invoke pipes (`--sync`) are not created: the emulator serves no invoke (see rpc.ts).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export interface Project {
    /** The directory holding Pulumi.yaml. */
    readonly root: string;
    readonly name: string;
    readonly runtime: string;
    readonly options: Record<string, unknown>;
    /** The program's working directory (`--pwd`). */
    readonly pwd: string;
    /** The entry point passed to cmd/run. */
    readonly entryPoint: string;
    /** `config:` declarations of the project file (Pulumi YAML uses them; other runtimes may too). */
    readonly config: Record<string, unknown>;
    /** The whole parsed project file. */
    readonly document: Record<string, unknown>;
}

/** getPwdMain of pkg/engine/project.go. */
export function pwdAndMain(root: string, main: string | undefined): { pwd: string; entryPoint: string } {
    if (!main) return { pwd: root, entryPoint: "." };
    if (path.isAbsolute(main)) throw new Error("project 'main' must be a relative path");
    const clean = path.resolve(root);
    const target = path.resolve(clean, main);
    if (!target.startsWith(clean)) throw new Error("project 'main' must be a subfolder");
    let stat: fs.Stats;
    try {
        stat = fs.statSync(target);
    } catch (error) {
        throw new Error(`project 'main' could not be read: ${(error as Error).message}`);
    }
    return stat.isDirectory() ? { pwd: target, entryPoint: "." } : { pwd: path.dirname(target), entryPoint: path.basename(target) };
}

export function loadProject(directory: string): Project {
    const root = path.resolve(directory);
    const file = path.join(root, "Pulumi.yaml");
    if (!fs.existsSync(file)) throw new Error(`no Pulumi.yaml in ${root}: not a Pulumi project`);
    const document = parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    if (typeof document.name !== "string" || !document.name) throw new Error(`${file}: 'name' is required`);
    const runtime = document.runtime;
    const runtimeName = typeof runtime === "string" ? runtime : (runtime as { name?: string } | undefined)?.name;
    if (!runtimeName) throw new Error(`${file}: 'runtime' is required`);
    const options = typeof runtime === "object" && runtime !== null ? ((runtime as { options?: Record<string, unknown> }).options ?? {}) : {};
    const { pwd, entryPoint } = pwdAndMain(root, document.main as string | undefined);
    return {
        root, name: document.name, runtime: runtimeName, options, pwd, entryPoint,
        config: (document.config as Record<string, unknown> | undefined) ?? {}, document,
    };
}

/** locateModule of main.go: resolve a module as Node would from the program directory. */
export function locateModule(module: string, programDirectory: string): string {
    try {
        return execFileSync(process.execPath, ["-e", `console.log(require.resolve(${JSON.stringify(module)}))`], {
            cwd: programDirectory, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
        }).trim();
    } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? "";
        throw new Error(`It looks like the Pulumi SDK has not been installed (${module} not found from ${programDirectory}). ` +
            `Have you run npm install or yarn install?\n${stderr.split("\n")[0]}`);
    }
}

export interface RunRequest {
    readonly project: Project;
    readonly stack: string;
    readonly monitor: string;
    readonly engine: string;
    readonly dryRun: boolean;
    readonly parallel?: number;
    /** Plain configuration by `namespace:key`. */
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
    /** Extra environment for the program (what the user's shell would hold). */
    readonly env?: NodeJS.ProcessEnv;
}

export interface ProgramCommand {
    readonly command: string;
    readonly args: string[];
    readonly env: NodeJS.ProcessEnv;
}

/** The node command line and environment the language host starts (main.go execRuntime + constructArguments). */
export function programCommand(request: RunRequest): ProgramCommand {
    const { project } = request;
    if (project.runtime !== "nodejs") {
        throw new Error(`runtime ${project.runtime}: the emulator starts Node.js programs only (pulumi-language-nodejs)`);
    }
    const runPath = locateModule("@pulumi/pulumi/cmd/run", project.pwd);
    const args = [runPath];
    const append = (flag: string, value: string | undefined) => {
        if (value) args.push(`--${flag}`, value);
    };
    append("monitor", request.monitor);
    append("engine", request.engine);
    append("project", project.name);
    append("root-directory", project.root);
    append("stack", request.stack);
    append("pwd", project.pwd);
    if (request.dryRun) args.push("--dry-run");
    append("parallel", String(request.parallel ?? 48));
    args.push(project.entryPoint);

    const config = Object.fromEntries(Object.entries(request.config).map(([key, value]) => {
        const separator = key.indexOf(":");
        return [`${key.slice(0, separator)}:config:${key.slice(separator + 1)}`, value];
    }));
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...request.env,
        PULUMI_CONFIG: JSON.stringify(config),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(request.secretKeys),
    };
    const options = project.options;
    if (options.typescript !== undefined && typeof options.typescript !== "boolean") throw new Error("typescript option must be a boolean");
    if (options.typescript !== false) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    if (typeof options.tsconfig === "string") env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
    const nodeArgs = typeof options.nodeargs === "string" ? options.nodeargs.split(/\s+/).filter(Boolean) : [];
    return { command: process.execPath, args: [...nodeArgs, ...args], env };
}
