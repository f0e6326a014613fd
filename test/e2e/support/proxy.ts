// A real TLS-terminating reverse proxy for the deployment tests: this machine's nginx (Debian's package) in a
// container on a Docker network of the test's own, built by test/e2e/infra/build-nginx-image.sh, with a test
// certificate authority and a server certificate made here with the openssl CLI. Its ports are published on
// 127.0.0.1 only. The proxy does what the README asks of a proxy in front of the Identity Service: it terminates TLS,
// passes the original Host header and sets X-Forwarded-Proto (and X-Forwarded-For).
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { E2E_LABEL } from "./creatio";
import { docker } from "./executor";

const INFRA_DIR = path.join(__dirname, "..", "infra");
/** Where the configuration and the certificate go in the container (the image's nginx has no configuration of its own). */
const CONFIG_DIR = "/etc/nginx";

/** A test certificate authority and one server certificate it signed, as PEM. */
export interface TestCertificates {
    readonly caCertificate: string;
    readonly certificate: string;
    readonly key: string;
}

/**
 * Makes a certificate authority and a server certificate for `names` (DNS names, or IP addresses) with the openssl
 * CLI, in a temporary folder that is removed again. Both are valid for a day.
 */
export function createTestCertificates(names: readonly string[]): TestCertificates {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-proxy-pki-"));
    const file = (name: string) => path.join(dir, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    try {
        const id = crypto.randomBytes(4).toString("hex");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=creatio-identity-service e2e test CA ${id}`,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", file("ca.key"), "-out", file("ca.crt"));
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${names[0]}`, "-keyout", file("server.key"), "-out", file("server.csr"));
        const altNames = names.map(name => (/^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
        fs.writeFileSync(file("server.ext"), `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
        openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial",
            "-days", "1", "-extfile", file("server.ext"), "-out", file("server.crt"));
        return {
            caCertificate: fs.readFileSync(file("ca.crt"), "utf8"),
            certificate: fs.readFileSync(file("server.crt"), "utf8"),
            key: fs.readFileSync(file("server.key"), "utf8"),
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** One server of the proxy: TLS on `listen` inside the container, forwarded to `upstream` (http://name:port). */
export interface ProxyRoute {
    readonly listen: number;
    readonly upstream: string;
}

export interface ReverseProxyOptions {
    readonly network: string;
    /** Its names on the network (the host names the certificate must carry). */
    readonly aliases: readonly string[];
    readonly routes: readonly ProxyRoute[];
    readonly certificates: TestCertificates;
}

export interface ReverseProxy {
    readonly name: string;
    /** The port on 127.0.0.1 each route's `listen` port is published on. */
    readonly publishedPorts: ReadonlyMap<number, number>;
    /** The requests it forwarded, as its access log has them: client address, request line, status, Host and X-Forwarded-Proto sent. */
    accessLog(): Promise<string[]>;
    stop(): Promise<void>;
}

/**
 * The nginx configuration: per route a TLS server that passes the original Host header and sets X-Forwarded-Proto and
 * X-Forwarded-For (nginx's documented reverse-proxy headers), resolving the upstream through Docker's DNS on each
 * request, so that a container replaced by a deployment is found again.
 */
export function nginxConfiguration(routes: readonly ProxyRoute[]): string {
    const servers = routes.map(
        route => `    server {
        listen ${route.listen} ssl;
        ssl_certificate ${CONFIG_DIR}/server.crt;
        ssl_certificate_key ${CONFIG_DIR}/server.key;
        location / {
            set $upstream ${route.upstream};
            proxy_pass $upstream;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
    }`,
    );
    return `user nobody nogroup;
worker_processes 1;
error_log stderr notice;
pid /run/nginx.pid;
events { worker_connections 256; }
http {
    log_format forwarded '$remote_addr "$request" $status host=$http_host proto=$scheme';
    access_log /dev/stdout forwarded;
    # Docker's embedded DNS on a user-defined network.
    resolver 127.0.0.11 valid=2s ipv6=off;
${servers.join("\n")}
}
`;
}

/** Builds the image (when needed) and starts the proxy on `options.network`, its ports published on 127.0.0.1 only. */
export async function startReverseProxy(options: ReverseProxyOptions): Promise<ReverseProxy> {
    const image = execFileSync("bash", [path.join(INFRA_DIR, "build-nginx-image.sh")], { stdio: ["ignore", "pipe", "inherit"] }).toString().trim();
    const name = `cis-proxy-${crypto.randomBytes(4).toString("hex")}`;
    await docker([
        "create", "--name", name, "--label", `${E2E_LABEL}=1`, "--network", options.network,
        ...options.aliases.flatMap(alias => ["--network-alias", alias]),
        ...options.routes.flatMap(route => ["--publish", `127.0.0.1::${route.listen}`]),
        image, "-c", `${CONFIG_DIR}/proxy.conf`,
    ]);
    const stop = () => docker(["rm", "-f", name], { allowFailure: true }).then(() => undefined);
    try {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-proxy-"));
        try {
            fs.writeFileSync(path.join(dir, "proxy.conf"), nginxConfiguration(options.routes));
            fs.writeFileSync(path.join(dir, "server.crt"), options.certificates.certificate);
            fs.writeFileSync(path.join(dir, "server.key"), options.certificates.key, { mode: 0o600 });
            for (const file of ["proxy.conf", "server.crt", "server.key"]) await docker(["cp", path.join(dir, file), `${name}:${CONFIG_DIR}/${file}`]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        await docker(["start", name]);
        const publishedPorts = new Map<number, number>();
        for (const route of options.routes) {
            const published = (await docker(["port", name, `${route.listen}/tcp`])).stdout.trim().split("\n")[0];
            const match = /^127\.0\.0\.1:(\d+)$/.exec(published);
            if (!match) throw new Error(`${name}: port ${route.listen} is not published on 127.0.0.1 (${published})`);
            publishedPorts.set(route.listen, Number(match[1]));
        }
        await waitForTls(name, [...publishedPorts.values()][0]);
        return {
            name,
            publishedPorts,
            accessLog: async () => (await docker(["logs", name], { allowFailure: true })).stdout.split("\n").filter(line => line.includes('"')),
            stop,
        };
    } catch (err) {
        const logs = await docker(["logs", name], { allowFailure: true });
        await stop();
        throw new Error(`${err instanceof Error ? err.message : String(err)}\nnginx: ${logs.stderr.trim()}`);
    }
}

async function waitForTls(name: string, port: number): Promise<void> {
    const deadline = Date.now() + 20000;
    for (;;) {
        const listening = await new Promise<boolean>(resolve => {
            const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
                socket.end();
                resolve(true);
            });
            socket.on("error", () => resolve(false));
        });
        if (listening) return;
        const state = await docker(["inspect", "--format", "{{.State.Running}}", name], { allowFailure: true });
        if (state.stdout.trim() === "false" || Date.now() > deadline) throw new Error(`${name} does not answer TLS on port ${port}`);
        await new Promise(resolve => setTimeout(resolve, 200));
    }
}

export interface ProxiedResponse {
    readonly status: number;
    readonly body: string;
}

/**
 * A request to `publicUrl` + `path` as a client that resolves the public host to the proxy's published port on
 * 127.0.0.1 makes it (curl's --resolve): TLS with the public host's name, that name in Host, the test CA trusted.
 */
export function requestThroughProxy(
    publishedPort: number,
    publicUrl: string,
    requestPath: string,
    caCertificate: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<ProxiedResponse> {
    const target = new URL(publicUrl);
    return new Promise((resolve, reject) => {
        const request = https.request(
            {
                host: "127.0.0.1",
                port: publishedPort,
                path: requestPath,
                method: init.method ?? "GET",
                servername: target.hostname,
                ca: caCertificate,
                headers: { host: target.host, ...init.headers },
                agent: false,
            },
            response => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
                response.on("error", reject);
            },
        );
        request.on("error", reject);
        request.end(init.body);
    });
}
