// Images of the Docker target through the test executor, on the real Docker Engine: the same program in another
// checkout builds nothing again; a built image removed from the engine is rebuilt with a forced replacement of
// the image (`pulumi up --replace`), since the provider never notices it is gone; and a tag pushed again to a
// registry (a test registry on 127.0.0.1) is pulled again through a new `docker.imageDigest`. Needs
// test/e2e/infra/start-docker.sh; no database (re-seeding and the readiness gate are off).
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "../../src";
import { docker, Executor, RunError } from "./support/executor";
import { TestRegistry } from "./support/registry";
import { freePort } from "../support/freePort";

const REPO_ROOT = path.join(__dirname, "..", "..");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-e2e-images-${RUN_ID}`;
const IMAGE = "docker:index/image:Image";
const CONTAINER = "docker:index/container:Container";


/**
 * A checkout of the program: its own folder with the extracted archive inside. The archive carries this run's name,
 * so that its image is this run's alone: the builder would otherwise reuse the image another suite built from the
 * same files (and on which that suite's image may build), which could then not be removed from the engine here.
 */
function checkout(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.cpSync(FIXTURE_DIR, path.join(dir, "IdentityService"), { recursive: true });
  fs.appendFileSync(path.join(dir, "IdentityService", "IdentityService.js"), `// ${NAME}\n`);
  return dir;
}

const kinds = (operations: readonly { kind: string; name: string }[]) => operations.map(op => `${op.kind} ${op.name}`);

describe("IdentityService images on Docker, through the test executor (real Docker Engine)", function () {
  let tmp: string;
  let port: number;
  let executor: Executor;

  before(async function () {
    await docker(["version", "--format", "{{.Server.Version}}"]).catch(() => {
      throw new Error("Docker does not answer: run test/e2e/infra/start-docker.sh first");
    });
    execFileSync("bash", [path.join(__dirname, "infra", "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-images-"));
    port = await freePort();
    executor = new Executor();
  });

  after(async function () {
    const removed = await executor?.cleanup();
    if (removed?.length) console.log(`  cleanup removed: ${removed.join(", ")}`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The program of one checkout: the context is given as an absolute path inside it, as `path.join(__dirname, ...)` would. */
  const program = (dir: string) => () => {
    const service = new IdentityService(NAME, {
      target: DeploymentTarget.Docker,
      creatioVersion: "8.2.3",
      database: { provider: DatabaseProvider.Postgres, connectionString: "Server=127.0.0.1;Port=1;Database=none;User ID=none;Password=none;" },
      client: { reseed: false },
      signingCertificate: { path: SIGNING_PFX },
      docker: { build: { context: path.join(dir, "IdentityService") }, httpPort: port, bindAddress: "127.0.0.1" },
      readiness: { enabled: false },
    });
    return { url: service.url };
  };

  it("the same program in another folder builds nothing again: the provider gets paths relative to its directory", async function () {
    const first = checkout(tmp, "checkout-a");
    const second = checkout(tmp, "checkout-b");
    const created = await executor.run(program(first), { cwd: first });
    assert.ok(kinds(created.operations).includes(`create ${NAME}-image`));
    const build = executor.resource(IMAGE, `${NAME}-image`)!.inputs.build as Record<string, unknown>;
    assert.equal(build.context, "IdentityService");
    assert.equal(build.dockerfile, "IdentityService/Dockerfile-OAuth");

    const moved = await executor.run(program(second), { cwd: second });
    assert.deepEqual(kinds(moved.operations), [], "nothing to do for the same files elsewhere");
  });

  it("a built image removed from the engine is not noticed; `--replace` of the image rebuilds it and the container follows", async function () {
    const dir = path.join(tmp, "checkout-b");
    const container = executor.resource(CONTAINER, `${NAME}-container`);
    assert.ok(container, "needs the deployment of the first test");
    const imageId = String(executor.resource(IMAGE, `${NAME}-image`)!.outputs.repoDigest);
    // What `docker system prune -a` does to a stopped service: the container and its image are gone.
    await docker(["rm", "-f", container.id]);
    await docker(["image", "rm", imageId.replace(/^sha256:/, ""), "--force"]);

    // The image's Read does no reconciliation: a refresh finds only the container gone, and creating it fails.
    let failure: RunError | undefined;
    try {
      await executor.run(program(dir), { cwd: dir, refresh: true });
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      failure = err;
    }
    assert.ok(failure, "the container cannot be created without its image");
    assert.deepEqual(kinds(failure.operations), [`create ${NAME}-container`]);
    assert.match(failure.message, new RegExp(imageId.replace(/^sha256:/, "").slice(0, 12)));

    const recovered = await executor.run(program(dir), { cwd: dir, replace: [`${IMAGE}::${NAME}-image`] });
    assert.deepEqual(kinds(recovered.operations), [`replace ${NAME}-image`, `create ${NAME}-container`, `delete-replaced ${NAME}-image`]);
    const rebuilt = String(executor.resource(IMAGE, `${NAME}-image`)!.outputs.repoDigest);
    const running = JSON.parse((await docker(["inspect", executor.resource(CONTAINER, `${NAME}-container`)!.id])).stdout)[0];
    assert.equal(running.Image, rebuilt, "the new container runs the rebuilt image");
  });

  it("a tag pushed again is pulled again through a new imageDigest, and the container runs the new image", async function () {
    const registry = await TestRegistry.start();
    const pulling = new Executor();
    const name = `${NAME}-pull`;
    const release = (n: number) => `creatio-identity-service-e2e/images-release-${n}:${RUN_ID}`;
    try {
      // Two releases of a service that keeps running (a container whose process ends at once would be read back
      // half torn down, its ports gone, and replaced on the next run): the same base, another label each.
      for (const n of [1, 2]) {
        const dir = fs.mkdtempSync(path.join(tmp, `release-${n}-`));
        fs.writeFileSync(
          path.join(dir, "Dockerfile"),
          `FROM creatio-identity-service-e2e/node-base:local\nLABEL release=${n}-${RUN_ID}\n` +
            'CMD ["/usr/bin/node", "-e", "setInterval(() => undefined, 60000)"]\n',
        );
        await docker(["build", "-q", "--label", "creatio-identity-service-e2e=1", "-t", release(n), dir], { env: { DOCKER_BUILDKIT: "0" } });
      }
      const repository = `cis-e2e/identity-service-${RUN_ID}`;
      const image = `${registry.host}/${repository}:8.2.3`;
      const firstDigest = registry.publish(release(1), repository, "8.2.3");
      const pullPort = await freePort();
      const program = (imageDigest: string) => () => {
        const service = new IdentityService(name, {
          target: DeploymentTarget.Docker,
          creatioVersion: "8.2.3",
          database: { provider: DatabaseProvider.Postgres, connectionString: "Server=127.0.0.1;Port=1;Database=none;User ID=none;Password=none;" },
          client: { reseed: false },
          signingCertificate: { path: SIGNING_PFX },
          docker: { image, imageDigest, httpPort: pullPort, bindAddress: "127.0.0.1" },
          readiness: { enabled: false },
        });
        return { url: service.url };
      };
      // The engine asks for the manifest by digest: GET, or only HEAD when it already holds that manifest's content
      // (the image was built here, so the engine may find that manifest's content already local).
      const askedFor = (digest: string) =>
        ["GET", "HEAD"].some(method => registry.requests.includes(`${method} /v2/${repository}/manifests/${digest}`));
      const localId = async (reference: string) => (await docker(["image", "inspect", "-f", "{{.Id}}", reference])).stdout.trim();
      const runningImage = async () =>
        JSON.parse((await docker(["inspect", pulling.resource(CONTAINER, `${name}-container`)!.id])).stdout)[0].Image as string;

      await pulling.run(program(firstDigest));
      assert.ok(askedFor(firstDigest), `pulled by the digest: ${registry.requests.join(", ")}`);
      assert.equal(await runningImage(), await localId(release(1)));

      // The tag is pushed again with other content; the same digest changes nothing.
      const secondDigest = registry.publish(release(2), repository, "8.2.3");
      assert.deepEqual(kinds((await pulling.run(program(firstDigest))).operations), []);

      const updated = await pulling.run(program(secondDigest));
      assert.deepEqual(kinds(updated.operations).filter(op => !op.startsWith("delete-replaced")), [`replace ${name}-image`, `replace ${name}-container`]);
      assert.ok(askedFor(secondDigest), `pulled by the new digest: ${registry.requests.join(", ")}`);
      assert.equal(await runningImage(), await localId(release(2)), "the container runs the image the tag names now");
    } finally {
      await pulling.cleanup();
      for (const n of [1, 2]) await docker(["image", "rm", release(n)], { allowFailure: true });
      await registry.close();
    }
  });
});
