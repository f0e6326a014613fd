// A test double of a container registry, for machines without one: a read-only Docker Registry HTTP API V2 on
// 127.0.0.1 that serves images taken from the local Docker Engine with `docker save`, so that the engine can really
// pull them (Docker talks plain HTTP to registries on 127.0.0.0/8). Written from the Registry API ("distribution")
// specification: `GET /v2/` answers 200; `GET`/`HEAD /v2/<name>/manifests/<tag or digest>` answers an image
// manifest (schema 2, `application/vnd.docker.distribution.manifest.v2+json`) with its `Docker-Content-Digest`;
// `GET`/`HEAD /v2/<name>/blobs/<digest>` answers the config or a gzip-compressed layer. No authentication, no
// uploads: `publish` stands in for `docker push`, and publishing a tag again replaces it (a tag pushed again).
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";

const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_TYPE = "application/vnd.docker.container.image.v1+json";
const LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip";

function digestOf(content: Buffer): string {
  return `sha256:${crypto.createHash("sha256").update(content).digest("hex")}`;
}

export class TestRegistry {
  private readonly blobs = new Map<string, Buffer>();
  private readonly manifests = new Map<string, Buffer>();
  /** Every request, as "METHOD path", for assertions on what the engine fetched. */
  readonly requests: string[] = [];

  private constructor(
    private readonly server: http.Server,
    /** `127.0.0.1:<port>`, the registry part of an image reference. */
    readonly host: string,
  ) {}

  static async start(): Promise<TestRegistry> {
    const started: { registry?: TestRegistry } = {};
    const server = http.createServer((req, res) => started.registry!.handle(req, res));
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    started.registry = new TestRegistry(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    return started.registry;
  }

  /**
   * Publishes a local image as `<host>/<repository>:<tag>` (replacing what the tag named before); returns the
   * manifest digest, as a registry reports it after a push.
   */
  publish(localImage: string, repository: string, tag: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-registry-"));
    try {
      const archive = path.join(dir, "image.tar");
      execFileSync("docker", ["save", "-o", archive, localImage]);
      execFileSync("tar", ["-xf", archive, "-C", dir]);
      const [saved] = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Array<{ Config: string; Layers: string[] }>;
      const config = fs.readFileSync(path.join(dir, saved.Config));
      const layers = saved.Layers.map(layer => zlib.gzipSync(fs.readFileSync(path.join(dir, layer)), { level: 1 }));
      for (const blob of [config, ...layers]) this.blobs.set(digestOf(blob), blob);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MANIFEST_TYPE,
          config: { mediaType: CONFIG_TYPE, size: config.length, digest: digestOf(config) },
          layers: layers.map(layer => ({ mediaType: LAYER_TYPE, size: layer.length, digest: digestOf(layer) })),
        }),
      );
      const digest = digestOf(manifest);
      this.manifests.set(`${repository}:${digest}`, manifest);
      this.manifests.set(`${repository}:${tag}`, manifest);
      return digest;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  close(): Promise<void> {
    return new Promise(resolve => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://registry");
    this.requests.push(`${req.method} ${url.pathname}`);
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    const send = (status: number, body: Buffer, type: string, digest?: string) => {
      res.statusCode = status;
      res.setHeader("Content-Type", type);
      res.setHeader("Content-Length", body.length);
      if (digest) res.setHeader("Docker-Content-Digest", digest);
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const notFound = (code: string) =>
      send(404, Buffer.from(JSON.stringify({ errors: [{ code, message: `${code.toLowerCase()}: ${url.pathname}` }] })), "application/json");
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, Buffer.from("{}"), "application/json");
    if (url.pathname === "/v2/" || url.pathname === "/v2") return send(200, Buffer.from("{}"), "application/json");
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!match) return notFound("NAME_UNKNOWN");
    const [, repository, kind, reference] = match;
    if (kind === "manifests") {
      const manifest = this.manifests.get(`${repository}:${reference}`);
      return manifest ? send(200, manifest, MANIFEST_TYPE, digestOf(manifest)) : notFound("MANIFEST_UNKNOWN");
    }
    const blob = this.blobs.get(reference);
    return blob ? send(200, blob, "application/octet-stream", reference) : notFound("BLOB_UNKNOWN");
  }
}
