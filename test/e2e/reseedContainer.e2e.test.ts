// The `container` re-seed runner (src/scripts/reseed-container.js) against the real Docker Engine and PostgreSQL, run
// the way the command provider runs it: its environment, JSON on stdin, the previous stdout in PULUMI_COMMAND_STDOUT.
// The database is reached at "db", a name only the test's Docker network resolves (a TCP relay to the cluster on it):
// this machine cannot reach it there, the re-seed container does. The runner image is the e2e base image with its
// node_modules out of reach (NODE_PATH emptied), so only the bundled script's own drivers can work. The login is the
// LOGIN-only role with the grants docs/reseed.md documents.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { createTables, definition, FULL, insertClient, parseStdout, rowsOf, runReseed, runScript, ScriptResult, stdinFor } from "./support/clientTables";
import { E2E_LABEL } from "./support/creatio";
import { docker } from "./support/executor";
import { adapted, documentedStatements, SCHEMA } from "./support/grants";
import { buildRunnerImage, BUNDLE, RUNNER_IMAGE } from "./support/runnerImage";

const ROOT = path.join(__dirname, "..", "..");
const WRAPPER = path.join(ROOT, "src", "scripts", "reseed-container.js");
/** An image with no files at all, so no `node`. */
const EMPTY_IMAGE = `${E2E_LABEL}/empty:local`;
const BASE_IMAGE = `${E2E_LABEL}/node-base:local`;
const RUN_ID = crypto.randomBytes(3).toString("hex");
const COMPONENT = `cis-e2e-reseed-${RUN_ID}`;
const RELAY_PORT = 5432;

const CLIENT_ID = "RunnerClient0001";
const OTHER_ID = "OtherClient00003";
const SECRET = "Runner-Secret-0123456789abcdefghijk";
const NEW_SECRET = "Runner-Secret-9876543210abcdefghijk";

interface RunOptions {
  networks?: string[];
  image?: string;
  role?: "client-reseed" | "client-retire";
  previousStdout?: string;
}

/** Runs the wrapper as the command provider would. */
function runWrapper(stdin: object, options: RunOptions): Promise<ScriptResult> {
  return runScript(
    WRAPPER,
    {
      RESEED_DB_PROVIDER: "Postgres",
      RESEED_IMAGE: options.image ?? RUNNER_IMAGE,
      RESEED_NETWORKS: JSON.stringify(options.networks ?? []),
      RESEED_COMPONENT: COMPONENT,
      RESEED_ROLE: options.role ?? "client-reseed",
      RESEED_BUNDLE: path.relative(ROOT, BUNDLE),
      ...(options.previousStdout !== undefined ? { PULUMI_COMMAND_STDOUT: options.previousStdout } : {}),
    },
    stdin,
    ROOT,
  );
}

async function containersOfComponent(): Promise<string[]> {
  const result = await docker(["ps", "-a", "-q", "--filter", `label=creatio-identity-service.component=${COMPONENT}`]);
  return result.stdout.split(/\s+/).filter(Boolean);
}

describe("the container re-seed runner (real Docker and PostgreSQL)", function () {
  this.timeout(180_000);
  let env: PostgresEnv;
  let db: ScratchDatabase;
  let owner: Client;
  let network: string;
  let relay: string | undefined;
  let connectionString: string;

  before(async () => {
    env = readPostgresEnv();
    assert.ok(env.hostFromContainers, "PostgreSQL does not listen for containers: run start-docker.sh, then start-postgres.sh");
    assert.ok(env.reseedUser && env.reseedPassword, "the env file names no LOGIN-only role: rerun test/e2e/infra/start-postgres.sh");
    await docker(["version"]);
    await buildRunnerImage();
    // An empty root filesystem (one empty directory, as `docker import` needs an entry).
    const emptyRoot = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-empty-"));
    try {
      const tar = execFileSync("tar", ["-C", emptyRoot, "-c", "."]);
      await docker(["import", "--change", `LABEL ${E2E_LABEL}=1`, "-", EMPTY_IMAGE], { input: tar });
    } finally {
      fs.rmSync(emptyRoot, { recursive: true, force: true });
    }
    network = `cis-e2e-reseed-${RUN_ID}`;
    await docker(["network", "create", "--driver", "bridge", "--label", `${E2E_LABEL}=1`, network]);
    // A TCP relay named "db" on the test network, to the cluster on the default bridge's gateway.
    const relayScript =
      `require("net").createServer((c) => { const s = require("net").connect(${env.port}, ${JSON.stringify(env.hostFromContainers)});` +
      ` c.pipe(s).pipe(c); c.on("error", () => s.destroy()); s.on("error", () => c.destroy()); }).listen(${RELAY_PORT});` +
      ` process.on("SIGTERM", () => process.exit(0));`;
    relay = (
      await docker(["create", "--label", `${E2E_LABEL}=1`, "--network", "bridge", "--entrypoint", "/usr/bin/node", BASE_IMAGE, "-e", relayScript])
    ).stdout.trim();
    await docker(["network", "connect", "--alias", "db", network, relay]);
    await docker(["start", relay]);

    db = await createScratchDatabase(env, "cis_e2e_runner");
    owner = new Client(db.config);
    await owner.connect();
    await owner.query(`REVOKE CONNECT ON DATABASE ${db.name} FROM PUBLIC`);
    await owner.query(`CREATE SCHEMA ${SCHEMA}`);
    await owner.query(`SET search_path = ${SCHEMA}`);
    await createTables(owner);
    for (const title of ["PostgreSQL", "PostgreSQL, serial Id columns"]) {
      for (const statement of documentedStatements(title)) {
        // The page also grants on IdentityServer4's ClientCorsOrigins and ClientIdPRestrictions, which these tables lack.
        if (!/ClientCorsOrigins|ClientIdPRestrictions/.test(statement)) await owner.query(adapted(statement, db.name, env.reseedUser!));
      }
    }
    connectionString =
      `Server=db;Port=${RELAY_PORT};Database=${db.name};User ID=${env.reseedUser};Password=${env.reseedPassword};Search Path=${SCHEMA};Timeout=5;`;
  });

  after(async () => {
    await owner?.end().catch(() => undefined);
    await db?.drop();
    if (relay) await docker(["rm", "--force", relay], { allowFailure: true });
    if (network) await docker(["network", "rm", network], { allowFailure: true });
  });

  afterEach(async () => {
    assert.deepEqual(await containersOfComponent(), [], "no re-seed container is left behind");
  });

  it("this machine cannot reach the database at that address (the local runner fails there)", async () => {
    const result = await runReseed(stdinFor("prepare", connectionString, definition(CLIENT_ID, SECRET)));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the Postgres database .* at db:5432 from the machine that runs Pulumi/);
  });

  it("replaces an edited client in place, adds and retires a secret, keeping the previous result, from the service's network", async () => {
    const rowId = await insertClient(owner, definition(CLIENT_ID, SECRET));
    await insertClient(owner, definition(OTHER_ID, SECRET));
    await owner.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [CLIENT_ID]);

    const replaced = await runWrapper(stdinFor("prepare", connectionString, definition(CLIENT_ID, SECRET)), { networks: [network] });
    const out = parseStdout(replaced);
    assert.deepEqual([out.deletedClients, out.insertedClients, out.updatedClients], [0, 0, 1], replaced.stderr);
    assert.match(String(out.restartToken), /^[0-9a-f]{16}$/);
    assert.match(replaced.stderr, /differs from its configuration in AccessTokenLifetime/);
    // Its row kept (with the claim the seeding added, in a table re-seeding does not write), the field repaired.
    assert.deepEqual(await rowsOf(owner, CLIENT_ID), FULL);
    const repaired = await owner.query(`SELECT "Id", "AccessTokenLifetime" FROM "Clients" WHERE "ClientId" = $1`, [CLIENT_ID]);
    assert.deepEqual(repaired.rows, [{ Id: rowId, AccessTokenLifetime: definition(CLIENT_ID, SECRET).AccessTokenLifetime }]);

    // The previous result reaches the container on stdin: the token stays while nothing is replaced.
    const rotated = parseStdout(
      await runWrapper(stdinFor("prepare", connectionString, definition(CLIENT_ID, NEW_SECRET)), { networks: [network], previousStdout: replaced.stdout }),
    );
    assert.equal(rotated.addedSecrets, 1);
    assert.equal(rotated.restartToken, out.restartToken);
    const retired = parseStdout(
      await runWrapper(stdinFor("retire", connectionString, definition(CLIENT_ID, NEW_SECRET)), { networks: [network], role: "client-retire" }),
    );
    assert.equal(retired.retiredSecrets, 1);
    assert.deepEqual(await rowsOf(owner, OTHER_ID), FULL);
  });

  it("joins every network it is given (the first at creation, the others before it starts)", async () => {
    const result = await runWrapper(stdinFor("prepare", connectionString, definition(CLIENT_ID, NEW_SECRET)), { networks: ["bridge", network] });
    assert.equal(parseStdout(result).deletedClients, 0, result.stderr);
  });

  it("docker inspect of the running container shows no secret: only its command, labels, user and networks", async () => {
    // Held until the container has been inspected: the step waits for its lock on "Clients".
    const blocker = new Client(db.config);
    await blocker.connect();
    await blocker.query(`BEGIN`);
    await blocker.query(`LOCK TABLE ${SCHEMA}."Clients" IN ACCESS EXCLUSIVE MODE`);
    let inspected: string | undefined;
    try {
      const run = runWrapper(stdinFor("prepare", connectionString, definition(CLIENT_ID, NEW_SECRET)), { networks: [network] });
      for (let attempt = 0; attempt < 300 && inspected === undefined; attempt++) {
        const [id] = await containersOfComponent();
        const state = id ? (await docker(["inspect", id], { allowFailure: true })).stdout : "";
        if (state.includes('"Running": true')) inspected = state;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await blocker.query(`COMMIT`);
      const result = await run;
      assert.equal(parseStdout(result).addedSecrets, 0, result.stderr);
    } finally {
      await blocker.end().catch(() => undefined);
    }
    assert.ok(inspected, "the container was seen running");
    const [container] = JSON.parse(inspected);
    for (const secret of [env.reseedPassword!, connectionString, "Password", SECRET, NEW_SECRET]) {
      assert.ok(!inspected.includes(secret), `docker inspect shows ${secret === env.reseedPassword ? "the password" : JSON.stringify(secret)}`);
    }
    assert.deepEqual(container.Config.Entrypoint, ["node"]);
    assert.deepEqual(container.Config.Cmd, ["/reseed.js"]);
    // The image's own variables and the provider's name: nothing else.
    assert.deepEqual(container.Config.Env.filter((variable: string) => !/^PATH=/.test(variable)).sort(), ["NODE_PATH=", "RESEED_DB_PROVIDER=Postgres"]);
    assert.equal(container.Config.User, "65534:65534");
    assert.deepEqual(container.HostConfig.CapDrop, ["ALL"]);
    assert.equal(container.HostConfig.AutoRemove, true);
    assert.deepEqual(Object.keys(container.NetworkSettings.Networks), [network]);
    assert.equal(container.Config.Labels["creatio-identity-service.component"], COMPONENT);
    assert.equal(container.Config.Labels["creatio-identity-service.role"], "client-reseed");
  });

  it("passes the script's own failure on, naming where it ran and not the password", async () => {
    const wrong = connectionString.replace(`Password=${env.reseedPassword}`, "Password=Wrong-Password-123");
    const result = await runWrapper(stdinFor("prepare", wrong, definition(CLIENT_ID, NEW_SECRET)), { networks: [network] });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /authentication failed on the Postgres database .* at db:5432 .* may connect from the re-seed container on the service's networks/s);
    assert.ok(!result.stderr.includes("Wrong-Password-123"), result.stderr);
  });

  it("refuses an image the Docker host does not have and cannot pull, naming it and the fix, leaving nothing behind", async () => {
    const image = `${E2E_LABEL}/no-such-runner:${RUN_ID}`;
    const result = await runWrapper(stdinFor("prepare", connectionString, definition(CLIENT_ID, NEW_SECRET)), { networks: [network], image });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`the Docker host has no image "${image.replace(/[/.]/g, "\\$&")}" and cannot pull it: .*client\\.reseedImage.*Nothing was changed`, "s"));
  });

  it("refuses a network that does not exist, naming it, leaving nothing behind", async () => {
    const missing = `cis-e2e-no-such-network-${RUN_ID}`;
    const result = await runWrapper(stdinFor("prepare", connectionString, definition(CLIENT_ID, NEW_SECRET)), { networks: [missing] });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`network ${missing} not found.*it joins the service's networks \\(${missing}\\): create them first`, "s"));
  });

  it("refuses an image without node, naming the fix", async () => {
    const result = await runWrapper(stdinFor("prepare", connectionString, definition(CLIENT_ID, NEW_SECRET)), {
      networks: [network],
      image: EMPTY_IMAGE,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /has no `node` on its PATH: give `client\.reseedImage` an image with Node\.js 18 or later/);
  });
});
