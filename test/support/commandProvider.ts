/**
 * Runs a command the way @pulumi/command 1.2.1's local.Command does, and builds the error message it reports when
 * the command fails. Test double written from provider/pkg/provider/local/commandOutputs.go (v1.2.1): the command
 * runs through `/bin/sh -c`, stdout and stderr are also written, in arrival order, to one combined buffer, and a
 * failure becomes `fmt.Errorf("%w: running %q:\n%s", err, command, combined)`, where `err` is Go's
 * `exec.ExitError` ("exit status N"). That message reaches the engine's diagnostics and the update log whatever
 * `logging` says, so it is what must stay free of secrets.
 */
import { spawn } from "child_process";

export interface CommandRun {
    readonly exitCode: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** The provider's error message, or undefined when the command succeeded. */
    readonly providerError?: string;
}

/** Go's `%q` for the ASCII text of a command line (strconv.Quote). */
export function goQuote(text: string): string {
    let quoted = '"';
    for (const char of text) {
        const code = char.codePointAt(0)!;
        if (char === '"' || char === "\\") quoted += `\\${char}`;
        else if (char === "\n") quoted += "\\n";
        else if (char === "\t") quoted += "\\t";
        else if (char === "\r") quoted += "\\r";
        else if (code < 0x20 || code === 0x7f) quoted += `\\x${code.toString(16).padStart(2, "0")}`;
        else quoted += char;
    }
    return `${quoted}"`;
}

export function runLikeCommandProvider(
    command: string,
    options: { environment?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<CommandRun> {
    return new Promise((resolve, reject) => {
        const child = spawn("/bin/sh", ["-c", command], {
            env: { ...process.env, ...options.environment },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let combined = "";
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk;
            combined += chunk;
        });
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk;
            combined += chunk;
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
        child.on("error", err => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const status = signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal}` : `exit status ${code}`;
            resolve({
                exitCode: code,
                stdout,
                stderr,
                providerError: code === 0 ? undefined : `${status}: running ${goQuote(command)}:\n${combined}`,
            });
        });
        child.stdin.on("error", () => undefined);
        // The provider sets stdin only when it is not empty.
        child.stdin.end(options.stdin ? options.stdin : undefined);
    });
}

/** The ways a secret can appear in text: as is, JSON-escaped (once or twice), URL-encoded, form-encoded and in Base64. */
export function secretForms(secret: string): Array<[kind: string, form: string]> {
    const forms: Array<[string, string]> = [
        ["as is", secret],
        ["JSON-escaped", JSON.stringify(secret).slice(1, -1)],
        ["JSON-escaped twice", JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1)],
        ["URL-encoded", encodeURIComponent(secret)],
        ["form-encoded", new URLSearchParams({ s: secret }).toString().slice(2)],
        ["Base64", Buffer.from(secret, "utf8").toString("base64")],
    ];
    return forms.filter(([, form], index) => forms.findIndex(([, other]) => other === form) === index);
}

/** Which secrets, in which form, `text` contains; names only, so that an assertion message repeats none. */
export function leakedForms(text: string, secrets: Record<string, string>): string[] {
    const found: string[] = [];
    for (const [name, secret] of Object.entries(secrets)) {
        for (const [kind, form] of secretForms(secret)) {
            if (text.includes(form)) found.push(`${name} (${kind})`);
        }
    }
    return found;
}
