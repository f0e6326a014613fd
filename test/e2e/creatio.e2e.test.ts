// The IdentityService component with `creatio` set, deployed to the real Docker Engine and PostgreSQL by the test
// executor, connected to the Creatio test double (test/fixtures/creatio) running in its container on a Docker
// network, as Creatio would: the Identity Service's container joins that network, `publicUrl` is its name there, and
// Creatio's own calls to the service (its default-resource registration and its health check, each a real token
// request with the client it was given) leave from Creatio's container, not from the test machine.
// Scenarios per runtime: first deploy and a passing health check; a no-op run that sends Creatio nothing; a client
// rotation that applies the new secret and passes again; a wrong Creatio password that fails with a clear message and
// no secret; a setting changed by hand in Creatio, left so by a run without changes and written back by a new `repair`
// value; a `publicUrl` only the deploying machine reaches, which Creatio reports unavailable; destroy (settings kept
// by default, cleared with clearSettingsOnDelete).
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh. Run from the repository root.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CreatioRuntime, DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { CONTAINER_LABEL } from "../../src/targets/docker";
import { createScratchDatabase, ScratchDatabase } from "./infra/postgres";
import { CreatioContainer, createDockerNetwork, DockerNetwork, startCreatioContainer } from "./support/creatio";
import { docker, Executor, RunError } from "./support/executor";
import { freePort } from "../support/freePort";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";
import { StandInContext, standInContext } from "./support/standInContext";
import { Session } from "../fixtures/creatio/doubles-support";

const REPO_ROOT = path.join(__dirname, "..", "..");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const RUN_ID = crypto.randomBytes(3).toString("hex");
const CREATIO_USER = "Supervisor";
const CREATIO_PASSWORD = `Creatio-${crypto.randomBytes(6).toString("hex")}`;
const WRONG_PASSWORD = `Wrong-${crypto.randomBytes(6).toString("hex")}`;
/** The port the stand-in Identity Service listens on in its container (its Dockerfile-OAuth). */
const SERVICE_PORT = 80;

const COMMAND = "command:local:Command";

const timings: Array<[string, number]> = [];
async function timed<R>(step: string, action: () => Promise<R>): Promise<R> {
  const started = performance.now();
  try {
    return await action();
  } finally {
    timings.push([step, performance.now() - started]);
  }
}

const CASES = [
  { runtime: CreatioRuntime.NetFramework, creatioVersion: "8.2.3", steps: ["settings", "feature", "defaultResource", "healthCheck"], clearSettingsOnDelete: false },
  { runtime: CreatioRuntime.Net, creatioVersion: "8.3.2", steps: ["settings", "defaultResource", "healthCheck"], clearSettingsOnDelete: true },
];

describe("IdentityService connecting Creatio (real Docker and PostgreSQL, Creatio test double in its container on a Docker network)", function () {
  let env: DeploymentSuiteEnv;
  const log = process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined;

  before(async function () {
    env = await prepareDeploymentSuite();
  });

  after(function () {
    if (timings.length > 0) {
      const width = Math.max(...timings.map(([step]) => step.length));
      console.log("\n  timing (ms)");
      for (const [step, ms] of timings) console.log(`    ${step.padEnd(width)}  ${String(Math.round(ms)).padStart(7)}`);
    }
  });

  for (const testCase of CASES) {
    describe(`Creatio on ${testCase.runtime} ${testCase.creatioVersion}`, function () {
      const name = `cis-e2e-creatio-${testCase.runtime === CreatioRuntime.Net ? "net" : "nf"}-${RUN_ID}`;
      /** Where Creatio reaches the service: its container's name on the shared network. */
      const publicUrl = `http://${name}:${SERVICE_PORT}`;
      /** What Creatio is given: the same URL as the service writes its issuer, without the default port. */
      const givenToCreatio = `http://${name}`;
      let db: ScratchDatabase;
      let executor: Executor;
      let network: DockerNetwork;
      let creatio: CreatioContainer;
      let standIn: StandInContext;
      let httpPort: number;
      let connectionString: string;
      let reseedConnectionString: string;
      let first: { clientId: string; clientSecret: string; url: string } | undefined;
      let rotated: { clientId: string; clientSecret: string } | undefined;

      function args(rotation: string, options: { password?: string; publicUrl?: string } = {}): IdentityServiceArgs {
        return {
          target: DeploymentTarget.Docker,
          creatioVersion: testCase.creatioVersion,
          database: {
            provider: DatabaseProvider.Postgres,
            connectionString: pulumi.secret(connectionString),
            reseedConnectionString: pulumi.secret(reseedConnectionString),
          },
          client: { rotation },
          signingCertificate: { path: SIGNING_PFX },
          // On the default bridge (where PostgreSQL lets containers in) and on Creatio's network.
          docker: { build: { context: standIn.path }, httpPort, bindAddress: "127.0.0.1", containerName: name, networks: ["bridge", network.name] },
          publicUrl: "publicUrl" in options ? options.publicUrl : publicUrl,
          readiness: { timeoutSeconds: 120 },
          creatio: {
            url: creatio.url,
            username: CREATIO_USER,
            password: pulumi.secret(options.password ?? CREATIO_PASSWORD),
            runtime: testCase.runtime,
            clearSettingsOnDelete: testCase.clearSettingsOnDelete,
            timeoutSeconds: 90,
          },
        };
      }

      const program = (serviceArgs: () => IdentityServiceArgs) => () => {
        const service = new IdentityService(name, serviceArgs());
        return { url: service.url, clientId: service.clientId, clientSecret: service.clientSecret, creatioHealthCheck: service.creatioHealthCheck };
      };

      const passed = {
        checked: true,
        hasProblem: false,
        isSystemSettingsFilledIn: true,
        isIdentityServiceAvailable: true,
        isAccessTokenRetrievableForSystemActions: true,
        isDefaultResourceRegistered: true,
      };

      /** The requests Creatio answered, as its container printed them. */
      const requests = async () => (await creatio.events()).filter(e => e.event === "request") as unknown as Array<{ method: string; path: string; status: number }>;

      before(async function () {
        db = await createScratchDatabase(env, "cis_e2e_creatio");
        const connection = (host: string) => `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;
        connectionString = connection(env.hostFromContainers!);
        reseedConnectionString = connection(env.host);
        httpPort = await freePort();
        standIn = standInContext({ seedingRule: "empty-table", creatioVersion: testCase.creatioVersion });
        network = await createDockerNetwork("cis-e2e-creatio");
        creatio = await startCreatioContainer({
          network: network.name,
          runtime: testCase.runtime,
          version: testCase.creatioVersion,
          users: { [CREATIO_USER]: CREATIO_PASSWORD },
          // How long Creatio waits for the service when it registers a resource (TempAccessProxy.RegistrationTimeoutMs,
          // the double's README): a machine under load may take longer than the double's default of 5 s.
          identityServiceTimeoutMs: 20000,
        });
        executor = new Executor({ log });
      });

      after(async function () {
        const removed = (await executor?.cleanup()) ?? [];
        if (removed.length > 0) console.log(`  cleanup removed: ${removed.join(", ")}`);
        await creatio?.stop();
        await network?.remove();
        await db?.drop().catch(() => undefined);
        standIn?.remove();
      });

      it("first deploy: Creatio is connected after the readiness gate; from its container it registers its resource and its health check gets real tokens", async function () {
        const result = await timed(`${testCase.runtime}: deploy + connect`, () =>
          executor.run(program(() => args("1"))).catch(async (err: Error) => {
            // What Creatio saw when it called the service, for the failure's message.
            err.message += `\nCreatio's token requests: ${JSON.stringify(await creatio.tokenRequests())}`;
            throw err;
          }),
        );
        const operations = result.operations.map(o => `${o.kind} ${o.name}`);
        assert.ok(operations.includes(`create ${name}-creatio-connection`), operations.join(", "));
        const op = (n: string) => result.operations.find(o => o.name === n)!;
        assert.ok(op(`${name}-readiness`).endedAt <= op(`${name}-creatio-connection`).startedAt, "connected after the readiness gate");

        first = { url: String(result.outputs.url), clientId: String(result.outputs.clientId), clientSecret: String(result.outputs.clientSecret) };
        assert.deepEqual(result.outputs.creatioHealthCheck, passed);
        const tokens = await creatio.tokenRequests();
        assert.deepEqual([...new Set(tokens.map(t => t.purpose))].sort(), ["AddDefaultResource", "OAuthHealthCheck"]);
        for (const token of tokens) {
          assert.equal(token.identityServiceUrl, givenToCreatio, "Creatio was given the service's name on its network");
          assert.equal(token.clientId, first.clientId);
          assert.equal(token.outcome, "token", JSON.stringify(token));
        }
        assert.ok(tokens.some(t => t.scope === "register_own_resource IdentityServerApi"));
        const prefix = testCase.runtime === CreatioRuntime.NetFramework ? "/0/" : "/";
        const seen = await requests();
        assert.ok(seen.slice(1).every(r => r.path.startsWith(prefix)), JSON.stringify(seen));

        const stdout = String(executor.resource(COMMAND, `${name}-creatio-connection`)!.outputs.stdout);
        assert.deepEqual(JSON.parse(stdout).steps, testCase.steps);
      });

      it("a no-op run performs no operation and sends Creatio no request", async function () {
        assert.ok(first, "needs the first deploy");
        const before = (await requests()).length;
        const result = await timed(`${testCase.runtime}: no-op`, () => executor.run(program(() => args("1"))));
        assert.deepEqual(result.operations, []);
        assert.equal((await requests()).length, before);
        assert.deepEqual(result.outputs.creatioHealthCheck, passed);
      });

      it("a client rotation applies the new id and secret, and the health check passes with them", async function () {
        assert.ok(first, "needs the first deploy");
        const before = (await creatio.tokenRequests()).length;
        const result = await timed(`${testCase.runtime}: rotation`, () => executor.run(program(() => args("2"))));
        const operations = result.operations.map(o => `${o.kind} ${o.name}`);
        assert.ok(operations.includes(`update ${name}-creatio-connection`), operations.join(", "));
        const op = (n: string) => result.operations.find(o => o.name === n)!;
        assert.ok(op(`${name}-readiness`).endedAt <= op(`${name}-creatio-connection`).startedAt, "after the new service is ready");
        const retire = result.operations.find(o => o.name === `${name}-client-retire`);
        assert.ok(retire, operations.join(", "));
        assert.ok(op(`${name}-creatio-connection`).endedAt <= retire.startedAt, "the old client is retired only once Creatio has the new one");
        rotated = { clientId: String(result.outputs.clientId), clientSecret: String(result.outputs.clientSecret) };
        assert.notEqual(rotated.clientSecret, first.clientSecret);
        const checks = (await creatio.tokenRequests()).slice(before).filter(t => t.purpose === "OAuthHealthCheck");
        assert.ok(checks.length > 0);
        for (const check of checks) assert.deepEqual([check.clientId, check.outcome], [rotated.clientId, "token"]);
        assert.deepEqual(result.outputs.creatioHealthCheck, passed);
      });

      it("a setting changed by hand in Creatio: a run without changes leaves it, a new repair value writes it back and nothing else runs", async function () {
        assert.ok(rotated, "needs the rotation");
        const session = new Session(creatio, testCase.runtime === CreatioRuntime.NetFramework ? "/0" : "");
        const login = await session.send("POST", "/ServiceModel/AuthService.svc/Login", { UserName: CREATIO_USER, UserPassword: CREATIO_PASSWORD }, false);
        assert.equal(login.status, 200);
        const urlSetting = async () => {
          const answer = await session.send("POST", "/DataService/json/SyncReply/QuerySysSettings", { sysSettingsNameCollection: ["OAuth20IdentityServerUrl"] });
          return (answer.body as { values: Record<string, { value: unknown }> }).values.OAuth20IdentityServerUrl.value;
        };
        await session.saveSettings({ OAuth20IdentityServerUrl: "http://edited-by-hand.invalid" });
        const unchanged = await executor.run(program(() => args("2")));
        assert.deepEqual(unchanged.operations, []);
        assert.equal(await urlSetting(), "http://edited-by-hand.invalid", "a run without changes repairs nothing");

        const ran = (result: { operations: ReadonlyArray<{ kind: string; name: string }> }) => result.operations.map(o => `${o.kind} ${o.name}`).sort();
        // The two steps run; the retire step follows the re-seed step's new result (after the rotation above, the ids
        // it last saw replaced are gone from it), and nothing else runs.
        const onlyRepairSteps = (result: { operations: ReadonlyArray<{ kind: string; name: string }> }) => {
          const operations = ran(result);
          for (const step of ["client-reseed", "creatio-connection"]) assert.ok(operations.includes(`update ${name}-${step}`), operations.join(", "));
          assert.deepEqual(operations.filter(op => !["client-reseed", "client-retire", "creatio-connection"].some(step => op === `update ${name}-${step}`)), []);
        };
        const repaired = await timed(`${testCase.runtime}: repair`, () => executor.run(program(() => ({ ...args("2"), repair: "hand-edit-1" }))));
        onlyRepairSteps(repaired);
        assert.equal(await urlSetting(), givenToCreatio);
        assert.deepEqual(repaired.outputs.creatioHealthCheck, passed);
        // Removing the value is a change of the same two steps, which apply the same again.
        const back = await executor.run(program(() => args("2")));
        onlyRepairSteps(back);
        assert.deepEqual(back.outputs.creatioHealthCheck, passed);
      });

      it("a wrong Creatio password fails at login with a clear message and no secret", async function () {
        assert.ok(rotated, "needs the rotation");
        let failure: RunError | undefined;
        try {
          await timed(`${testCase.runtime}: wrong password`, () => executor.run(program(() => args("2", { password: WRONG_PASSWORD }))));
        } catch (err) {
          if (!(err instanceof RunError)) throw err;
          failure = err;
        }
        assert.ok(failure, "the run must fail");
        assert.match(failure.message, new RegExp(`${name}-creatio-connection`));
        assert.match(failure.message, /connecting Creatio failed at login: Creatio refused the login of user "Supervisor" \(Code 1\)/);
        assert.match(failure.message, /check the Creatio username and password/);
        for (const secret of [WRONG_PASSWORD, CREATIO_PASSWORD, rotated.clientSecret, first!.clientSecret]) {
          assert.ok(!failure.message.includes(secret), "no secret in the failure");
        }
      });

      it("a publicUrl only the deploying machine reaches: Creatio reports the service unavailable from where it runs", async function () {
        assert.ok(rotated, "needs the rotation");
        let failure: RunError | undefined;
        try {
          // Without publicUrl Creatio gets `url`, http://localhost:<published port>: its own container, not the service.
          await timed(`${testCase.runtime}: unreachable publicUrl`, () => executor.run(program(() => args("2", { publicUrl: undefined }))));
        } catch (err) {
          if (!(err instanceof RunError)) throw err;
          failure = err;
        }
        assert.ok(failure, "the run must fail");
        assert.match(failure.message, /Creatio reports a problem: "IdentityService specified in system setting OAuth20IdentityServerUrl is unavailable\."/);
        assert.match(failure.message, /not reachable from the Creatio host/);
        const last = (await creatio.healthChecks()).at(-1);
        assert.equal(last?.IsIdentityServiceAvailable, false);
      });

      it(`destroy ${testCase.clearSettingsOnDelete ? "clears" : "leaves"} Creatio's settings`, async function () {
        assert.ok(rotated, "needs a deployed stack");
        const before = (await requests()).length;
        const operations = await timed(`${testCase.runtime}: destroy`, () => executor.destroy());
        const order = operations.map(o => o.name);
        assert.ok(order.indexOf(`${name}-creatio-connection`) < order.indexOf(`${name}-readiness`), "the connection goes first");
        assert.deepEqual(executor.state, []);
        const left = await docker(["ps", "-aq", "--filter", `label=${CONTAINER_LABEL}=${name}`]);
        assert.equal(left.stdout.trim(), "");
        const writes = (await requests()).slice(before).filter(r => r.path.endsWith("/PostSysSettingsValues"));
        assert.equal(writes.length, testCase.clearSettingsOnDelete ? 1 : 0);
      });
    });
  }
});
