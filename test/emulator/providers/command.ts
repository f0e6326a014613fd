// Emulated @pulumi/command 1.2.1 (pulumi-command v1.2.1 on pulumi-go-provider v1.3.0 `infer`).
// local.Command runs real local commands:
// - provider/pkg/provider/local/commandController.go: Create runs `create`; Update runs `update`, or `create`
//   when there is no `update`; Delete runs `delete` when set. A failed create leaves nothing in state and a
//   failed update keeps the old state (infer resource.go Create/Update).
// - local/commandOutputs.go: the interpreter defaults to ["/bin/sh", "-c"]; the working directory is `dir` or
//   the provider's own (the program directory); the environment is the provider's plus `environment`, plus
//   PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR holding the previous output on update and delete when not
//   empty and `addPreviousOutputInEnv` is not false; `stdin` is written then closed; stdout and stderr lose one
//   trailing newline; a failure reads `<exit error>: running "<command>":\n<combined output>`.
// - `logging` (stdout, stderr, stdoutAndStderr (default), none) decides what reaches the engine's log.
// - common/inputs.go: `triggers` replaces (SDK replaceOnChanges ["triggers[*]"] and infer's forceReplace);
//   every other changed input is an in-place update (infer Diff, resource.go:1132+).
// - Preview runs nothing: stdout and stderr of a created or changed command are unknown (infer markComputed); the id
//   of a created command is made before the preview check, so it is known at preview too (local/commandController.go:
//   42-50; rules.ts `commandId`, shared with the e2e executor).
// - DiffConfig: the provider's configuration (infer) has no property that replaces: a move between command providers
//   never replaces.
// - The request's timeout (customTimeouts) bounds the command: pulumi-go-provider runs each operation under a
//   context with that deadline, and exec.CommandContext kills the process when it passes.
// remote.Command (SSH) is checked and diffed the same way; creating one is refused: the emulator opens no SSH
// connection. The invoke local.run runs as `invokeLocalRun` says.
import { spawn } from "child_process";
import { goQuote } from "../../support/commandProvider";
import { PropertyMap, UNKNOWN, plainEqual, reveal } from "../values";
import { CheckFailure, CheckResult, CreateResult, DiffResult, EmulatedProvider, ProviderContext, changedKeys, unsupportedType } from "./provider";
import { commandId, commandReplaceKeys } from "./rules";

const LOCAL = "command:local:Command";
const REMOTE = "command:remote:Command";
const LOGGING = ["stdout", "stderr", "stdoutAndStderr", "none"];

interface RunResult {
    readonly stdout: string;
    readonly stderr: string;
}

function trimNewline(text: string): string {
    return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Runs one command as commandOutputs.go `run` does. */
export function runCommand(command: string, inputs: PropertyMap, previous: PropertyMap | undefined, ctx: ProviderContext): Promise<RunResult> {
    const plain = reveal(inputs) as PropertyMap;
    const interpreter = (plain.interpreter as string[] | undefined) ?? ["/bin/sh", "-c"];
    const env: NodeJS.ProcessEnv = { ...process.env, ...(plain.environment as Record<string, string> | undefined) };
    if (previous && plain.addPreviousOutputInEnv !== false) {
        const prev = reveal(previous) as PropertyMap;
        if (prev.stdout) env.PULUMI_COMMAND_STDOUT = String(prev.stdout);
        if (prev.stderr) env.PULUMI_COMMAND_STDERR = String(prev.stderr);
    }
    const logging = (plain.logging as string | undefined) ?? "stdoutAndStderr";
    return new Promise((resolve, reject) => {
        const child = spawn(interpreter[0], [...interpreter.slice(1), command], {
            cwd: (plain.dir as string | undefined) ?? ctx.pwd,
            env,
            stdio: ["pipe", "pipe", "pipe"],
            timeout: ctx.timeoutSeconds > 0 ? ctx.timeoutSeconds * 1000 : undefined,
            killSignal: "SIGKILL",
        });
        let stdout = "";
        let stderr = "";
        let combined = "";
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk;
            combined += chunk;
            if (logging === "stdout" || logging === "stdoutAndStderr") ctx.log("info", chunk.toString());
        });
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk;
            combined += chunk;
            if (logging === "stderr" || logging === "stdoutAndStderr") ctx.log("info", chunk.toString());
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(plain.stdin === undefined ? "" : String(plain.stdin));
        child.on("error", reject);
        child.on("close", (code, signal) => {
            if (code === 0) {
                resolve({ stdout: trimNewline(stdout), stderr: trimNewline(stderr) });
                return;
            }
            // Go's exec.ExitError text, then `%q` of the command (strconv.Quote).
            const status = signal ? `signal: ${signal === "SIGKILL" || signal === "SIGTERM" ? "killed" : signal}` : `exit status ${code}`;
            reject(new Error(`${status}: running ${goQuote(command)}:\n${combined}`));
        });
    });
}

/**
 * The invoke `command:local:run` (local/runController.go `Invoke`, local/run.go `RunInputs`/`RunOutputs` @ v1.2.1):
 * the same `run` as a Command's create, with no previous output (RunOutputs starts empty), in a preview as in an update
 * (pulumi-go-provider infer/function.go:153-180 @ v1.3.0 has no preview check); the result is the inputs with
 * `stdout` and `stderr` (RunOutputs embeds RunInputs). `command` is required (infer's decoding fails without it).
 */
export async function invokeLocalRun(inputs: PropertyMap, ctx: ProviderContext): Promise<PropertyMap> {
    const command = reveal(inputs.command ?? null);
    if (typeof command !== "string") {
        throw new Error("missing required property 'command'");
    }
    const output = await runCommand(command, inputs, undefined, ctx);
    return { ...inputs, ...output };
}

export class CommandProvider implements EmulatedProvider {
    readonly name = "command";

    diffConfig(): boolean {
        return false;
    }

    check(type: string, _olds: PropertyMap | undefined, news: PropertyMap): CheckResult {
        if (type !== LOCAL && type !== REMOTE) unsupportedType(this.name, type);
        const failures: CheckFailure[] = [];
        const logging = reveal(news.logging ?? null);
        if (logging !== null && !LOGGING.includes(String(logging))) {
            failures.push({ property: "logging", reason: `logging must be one of ${LOGGING.join(", ")}` });
        }
        if (type === REMOTE && news.connection === undefined) {
            failures.push({ property: "connection", reason: "missing required property 'connection'" });
        }
        return { inputs: news, failures };
    }

    diff(_type: string, oldInputs: PropertyMap, _oldOutputs: PropertyMap, news: PropertyMap): DiffResult {
        const changed = changedKeys(oldInputs, news, (a, b) => plainEqual(a as never, b as never));
        return { changedKeys: changed, replaceKeys: commandReplaceKeys(changed), deleteBeforeReplace: false };
    }

    async create(type: string, inputs: PropertyMap, ctx: ProviderContext, preview: boolean): Promise<CreateResult> {
        const id = commandId(ctx.urn.split("::").pop()!);
        if (preview) return { id, outputs: { ...inputs, stdout: UNKNOWN, stderr: UNKNOWN } };
        if (type === REMOTE) {
            throw new Error(`${ctx.urn}: the emulated command provider does not run remote.Command: it would need an SSH ` +
                "server, and the emulator opens no network connection; preview such programs only");
        }
        const create = reveal(inputs.create ?? null);
        const output = typeof create === "string" ? await runCommand(create, inputs, undefined, ctx) : { stdout: "", stderr: "" };
        return { id, outputs: { ...inputs, ...output } };
    }

    async update(type: string, _id: string, oldOutputs: PropertyMap, news: PropertyMap, ctx: ProviderContext, preview: boolean): Promise<PropertyMap> {
        if (preview) return { ...news, stdout: UNKNOWN, stderr: UNKNOWN };
        if (type === REMOTE) throw new Error(`${ctx.urn}: the emulated command provider does not run remote.Command over SSH`);
        const command = reveal(news.update ?? news.create ?? null);
        const output = typeof command === "string"
            ? await runCommand(command, news, oldOutputs, ctx)
            : { stdout: String(reveal(oldOutputs.stdout ?? "")), stderr: String(reveal(oldOutputs.stderr ?? "")) };
        return { ...news, ...output };
    }

    async delete(type: string, _id: string, outputs: PropertyMap, ctx: ProviderContext): Promise<void> {
        const command = reveal(outputs.delete ?? null);
        if (typeof command !== "string") return;
        if (type === REMOTE) throw new Error(`${ctx.urn}: the emulated command provider does not run remote.Command over SSH`);
        await runCommand(command, outputs, outputs, ctx);
    }

    invoke(token: string, inputs: PropertyMap, ctx: ProviderContext): Promise<PropertyMap> {
        if (token !== "command:local:run") unsupportedType(this.name, token);
        return invokeLocalRun(inputs, ctx);
    }

    async read(_type: string, _id: string, outputs: PropertyMap): Promise<PropertyMap> {
        // infer: a command has no Read of its own; refresh keeps the state.
        return outputs;
    }
}
