/**
 * A real OpenSSH server (Debian's sshd) on 127.0.0.1 and a free port, with its own configuration, host key and one
 * authorized client key, started and stopped by the test. Commands run as the current user, with the environment
 * given, through the stand-in cmd.exe as OpenSSH for Windows runs them (`"cmd.exe" /c "<command>"`, w32-doexec.c),
 * not through a POSIX shell. The client is the OpenSSH `ssh` command.
 */
import { execFileSync, spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { CMD, RunResult, runToEnd } from "./iisServer";
import { freePort } from "./freePort";


export class SshServer {
    private constructor(
        readonly port: number,
        private readonly folder: string,
        private readonly daemon: ChildProcess,
    ) {}

    static async start(environment: Record<string, string>): Promise<SshServer> {
        const folder = fs.mkdtempSync(path.join(os.tmpdir(), "iis-standin-sshd-"));
        const key = (name: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(folder, name)]);
        key("host_key");
        key("client_key");
        fs.copyFileSync(path.join(folder, "client_key.pub"), path.join(folder, "authorized_keys"));
        const port = await freePort();
        // The account's environment (on Windows it comes from the user's profile): set before the command, which then
        // runs unchanged through cmd.exe, as OpenSSH for Windows would run it without a forced command.
        const quoted = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
        fs.writeFileSync(
            path.join(folder, "session"),
            [
                "#!/bin/sh",
                ...Object.entries(environment).map(([name, value]) => `export ${name}=${quoted(value)}`),
                `exec ${quoted(CMD)} /c "\\"$SSH_ORIGINAL_COMMAND\\""`,
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        fs.writeFileSync(
            path.join(folder, "sshd_config"),
            [
                `ListenAddress 127.0.0.1`,
                `Port ${port}`,
                `HostKey ${path.join(folder, "host_key")}`,
                `PidFile ${path.join(folder, "sshd.pid")}`,
                `AuthorizedKeysFile ${path.join(folder, "authorized_keys")}`,
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                "StrictModes no",
                `ForceCommand ${path.join(folder, "session")}`,
                "",
            ].join("\n"),
        );
        fs.mkdirSync("/run/sshd", { recursive: true });
        const daemon = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(folder, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
        let log = "";
        daemon.stderr!.on("data", chunk => (log += chunk));
        const server = new SshServer(port, folder, daemon);
        for (let attempt = 0; ; attempt++) {
            if (daemon.exitCode !== null) {
                throw new Error(`sshd exited: ${log}`);
            }
            const connected = await new Promise<boolean>(resolve => {
                const socket = net.connect(port, "127.0.0.1", () => {
                    socket.end();
                    resolve(true);
                });
                socket.on("error", () => resolve(false));
            });
            if (connected) {
                return server;
            }
            if (attempt > 100) {
                server.stop();
                throw new Error(`sshd did not listen on ${port}: ${log}`);
            }
            await new Promise(resolve => setTimeout(resolve, 100));
        }
    }

    /** The private key sshd accepts (OpenSSH format), for clients other than the `ssh` command. */
    clientKey(): string {
        return fs.readFileSync(path.join(this.folder, "client_key"), "utf8");
    }

    /** The server's public host key, in its `authorized_keys` form. */
    hostKey(): string {
        return fs.readFileSync(path.join(this.folder, "host_key.pub"), "utf8").trim();
    }

    /** Runs a command line on the server with the given stdin, as an SSH client does (no terminal). */
    run(line: string, stdin: string): Promise<RunResult> {
        return runToEnd(
            spawn("ssh", [
                "-T",
                "-i", path.join(this.folder, "client_key"),
                "-p", String(this.port),
                "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no",
                "-o", `UserKnownHostsFile=${path.join(this.folder, "known_hosts")}`,
                "-o", "LogLevel=ERROR",
                `${os.userInfo().username}@127.0.0.1`,
                line,
            ]),
            stdin,
        );
    }

    stop(): void {
        this.daemon.kill("SIGTERM");
        fs.rmSync(this.folder, { recursive: true, force: true });
    }
}
