// One call of the Docker Engine API on a Unix socket: what the Docker provider's client sends (its Go SDK speaks the
// same API), for the operations the docker CLI cannot express, such as a health check in the exec form. Used by the
// emulator's docker provider and by the e2e executor.
import * as http from "http";

/** Docker Engine 20.10's API, the oldest engine the tests run on. */
export const ENGINE_API_VERSION = "v1.41";

/** The socket of a `DOCKER_HOST` (unset: the default socket); another kind of host is refused. */
export function engineSocket(dockerHost: string | undefined): string {
    if (!dockerHost) return "/var/run/docker.sock";
    if (!dockerHost.startsWith("unix://")) {
        throw new Error(`the Docker Engine API is called on a local Unix socket only, not DOCKER_HOST=${dockerHost}`);
    }
    return dockerHost.slice("unix://".length);
}

/** One Engine API call; rejects with the Engine's message on any status >= 400. */
export function engineRequest<T = unknown>(dockerHost: string | undefined, method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const request = http.request(
            {
                socketPath: engineSocket(dockerHost),
                path: `/${ENGINE_API_VERSION}${path}`,
                method,
                headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {},
            },
            response => {
                const chunks: Buffer[] = [];
                response.on("data", chunk => chunks.push(chunk));
                response.on("end", () => {
                    const text = Buffer.concat(chunks).toString();
                    let parsed: unknown;
                    try {
                        parsed = text ? JSON.parse(text) : undefined;
                    } catch {
                        parsed = text;
                    }
                    if ((response.statusCode ?? 500) >= 400) {
                        reject(new Error(`${method} ${path}: ${(parsed as { message?: string } | undefined)?.message ?? text}`));
                    } else {
                        resolve(parsed as T);
                    }
                });
            },
        );
        request.on("error", reject);
        request.end(payload);
    });
}
