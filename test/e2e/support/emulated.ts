// Helpers of the e2e suites that deploy programs through the engine emulator (test/emulator) against the real Docker
// Engine and PostgreSQL: the token request with retries, what exists on Docker, the loopback check, cleanup.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as net from "net";
import * as path from "path";
import { Stack } from "../../emulator/stack";
import { dockerAvailable } from "../../emulator/providers/docker";
import { tokenStatus } from "./load";

const INFRA_DIR = path.join(__dirname, "..", "infra");

export type Credentials = { url: string; clientId: string; clientSecret: string };

export async function token(url: string, clientId: string, clientSecret: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
        try {
            return await tokenStatus(url, clientId, clientSecret);
        } catch (error) {
            // Docker's port proxy now and then drops a fresh loopback connection (see deploy.e2e.test.ts).
            if (attempt >= 10) throw error;
            await new Promise(resolve => setTimeout(resolve, 300));
        }
    }
}

export function exists(kind: "container" | "network" | "image", name: string): boolean {
    return spawnSync("docker", [kind, "inspect", name], { stdio: "ignore" }).status === 0;
}

export function containerId(name: string): string {
    return execFileSync("docker", ["inspect", "-f", "{{.Id}}", name], { encoding: "utf8" }).trim();
}

/** Fails unless every published port of the container is bound to 127.0.0.1 only. */
export function assertLoopbackOnly(container: string): void {
    const ports = JSON.parse(execFileSync("docker", ["inspect", "-f", "{{json .NetworkSettings.Ports}}", container], { encoding: "utf8" })) as
        Record<string, { HostIp: string; HostPort: string }[] | null>;
    const bindings = Object.values(ports).flatMap(list => list ?? []);
    assert.ok(bindings.length > 0, `${container} publishes no port`);
    const elsewhere = bindings.filter(b => b.HostIp !== "127.0.0.1");
    assert.deepEqual(elsewhere, [],
        `${container} publishes ${elsewhere.map(b => `${b.HostIp}:${b.HostPort}`).join(", ")} beyond loopback. The programs are ` +
        "configured with bindAddress 127.0.0.1; a port published without an address binds to loopback only when dockerd " +
        "runs with --ip 127.0.0.1, as test/e2e/infra/start-docker.sh starts it (restart Docker with that script).");
}

/** Resolves when nothing listens on 127.0.0.1:port (a listener on every address holds it too). */
export function portFree(port: number): Promise<boolean> {
    return new Promise(resolve => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/** Removes what a run left behind when its destroy could not: only names that were free before the suite. */
export async function removeLeftovers(stack: Stack | undefined, containers: string[], networks: string[]): Promise<void> {
    if (stack && stack.state().length > 0) await stack.destroy().catch(() => undefined);
    for (const container of containers) if (exists("container", container)) spawnSync("docker", ["rm", "-f", container], { stdio: "ignore" });
    for (const network of networks) if (exists("network", network)) spawnSync("docker", ["network", "rm", network], { stdio: "ignore" });
}

export function requireDocker(): void {
    if (!dockerAvailable()) throw new Error("Docker does not answer: run test/e2e/infra/start-docker.sh first");
    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
}

