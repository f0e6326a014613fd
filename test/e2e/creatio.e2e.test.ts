// The IdentityService component with `creatio` set, deployed to the real Docker Engine and PostgreSQL by the test
// executor, connected to the Creatio test double (test/fixtures/creatio) running on 127.0.0.1. The double's health
// check requests a real token from the deployed Identity Service test double with the client it was given.
// Scenarios per runtime: first deploy and a passing health check; a no-op run that sends Creatio nothing; a client
// rotation that applies the new secret and passes again; a wrong Creatio password that fails with a clear message and
// no secret; destroy (settings kept by default, cleared with clearSettingsOnDelete).
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh. Run from the repository root.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CreatioRuntime, DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { CONTAINER_LABEL } from "../../src/targets/docker";
import { createScratchDatabase, ScratchDatabase } from "./infra/postgres";
import { docker, Executor, RunError } from "./support/executor";
import { freePort } from "../support/freePort";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startCreatio } = require("../fixtures/creatio/creatio.js");

const REPO_ROOT = path.join(__dirname, "..", "..");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const RUN_ID = crypto.randomBytes(3).toString("hex");
const CREATIO_USER = "Supervisor";
const CREATIO_PASSWORD = `Creatio-${crypto.randomBytes(6).toString("hex")}`;
const WRONG_PASSWORD = `Wrong-${crypto.randomBytes(6).toString("hex")}`;

const COMMAND = "command:local:Command";

interface StandIn {
  url: string;
  state: any;
  requests: Array<{ method: string; path: string; status: number }>;
  storedSecret(): string;
  close(): Promise<void>;
}


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
  { runtime: CreatioRuntime.NetFramework, creatioVersion: "8.2.3", steps: ["settings", "feature", "healthCheck"], clearSettingsOnDelete: false },
  { runtime: CreatioRuntime.Net, creatioVersion: "8.3.2", steps: ["settings", "healthCheck"], clearSettingsOnDelete: true },
];

describe("IdentityService connecting Creatio (real Docker and PostgreSQL, Creatio test double)", function () {
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
      let db: ScratchDatabase;
      let executor: Executor;
      let creatio: StandIn;
      let httpPort: number;
      let connectionString: string;
      let reseedConnectionString: string;
      let first: { clientId: string; clientSecret: string; url: string } | undefined;
      let rotated: { clientId: string; clientSecret: string } | undefined;

      function args(rotation: string, password = CREATIO_PASSWORD): IdentityServiceArgs {
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
          docker: { build: { context: FIXTURE_DIR }, httpPort, bindAddress: "127.0.0.1" },
          readiness: { timeoutSeconds: 120 },
          creatio: {
            url: creatio.url,
            username: CREATIO_USER,
            password: pulumi.secret(password),
            runtime: testCase.runtime,
            clearSettingsOnDelete: testCase.clearSettingsOnDelete,
            timeoutSeconds: 60,
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
      };

      before(async function () {
        db = await createScratchDatabase(env, "cis_e2e_creatio");
        const connection = (host: string) => `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;
        connectionString = connection(env.hostFromContainers!);
        reseedConnectionString = connection(env.host);
        httpPort = await freePort();
        creatio = await startCreatio({ runtime: testCase.runtime, version: testCase.creatioVersion, users: { [CREATIO_USER]: CREATIO_PASSWORD } });
        executor = new Executor({ log });
      });

      after(async function () {
        const removed = (await executor?.cleanup()) ?? [];
        if (removed.length > 0) console.log(`  cleanup removed: ${removed.join(", ")}`);
        await db?.drop().catch(() => undefined);
        await creatio?.close();
      });

      it("first deploy: Creatio is connected after the readiness gate and its health check gets a real token", async function () {
        const result = await timed(`${testCase.runtime}: deploy + connect`, () => executor.run(program(() => args("1"))));
        const operations = result.operations.map(o => `${o.kind} ${o.name}`);
        assert.ok(operations.includes(`create ${name}-creatio-connection`), operations.join(", "));
        const op = (n: string) => result.operations.find(o => o.name === n)!;
        assert.ok(op(`${name}-readiness`).endedAt <= op(`${name}-creatio-connection`).startedAt, "connected after the readiness gate");

        first = { url: String(result.outputs.url), clientId: String(result.outputs.clientId), clientSecret: String(result.outputs.clientSecret) };
        assert.deepEqual(result.outputs.creatioHealthCheck, passed);
        assert.equal(creatio.state.settings.OAuth20IdentityServerUrl, first.url);
        assert.equal(creatio.state.settings.OAuth20IdentityServerClientId, first.clientId);
        assert.equal(creatio.storedSecret(), first.clientSecret);
        assert.deepEqual(creatio.state.healthChecks.map((h: any) => [h.url, h.clientId, h.outcome]), [[first.url, first.clientId, "token"]]);
        if (testCase.steps.includes("feature")) assert.equal(creatio.state.features.OAuth20Integration, 1);
        const prefix = testCase.runtime === CreatioRuntime.NetFramework ? "/0/" : "/";
        assert.ok(creatio.requests.slice(1).every(r => r.path.startsWith(prefix)), JSON.stringify(creatio.requests));

        const stdout = String(executor.resource(COMMAND, `${name}-creatio-connection`)!.outputs.stdout);
        assert.deepEqual(JSON.parse(stdout).steps, testCase.steps);
      });

      it("a no-op run performs no operation and sends Creatio no request", async function () {
        assert.ok(first, "needs the first deploy");
        const before = creatio.requests.length;
        const result = await timed(`${testCase.runtime}: no-op`, () => executor.run(program(() => args("1"))));
        assert.deepEqual(result.operations, []);
        assert.equal(creatio.requests.length, before);
        assert.deepEqual(result.outputs.creatioHealthCheck, passed);
      });

      it("a client rotation applies the new id and secret, and the health check passes with them", async function () {
        assert.ok(first, "needs the first deploy");
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
        assert.equal(creatio.state.settings.OAuth20IdentityServerClientId, rotated.clientId);
        assert.equal(creatio.storedSecret(), rotated.clientSecret);
        assert.deepEqual(creatio.state.healthChecks.at(-1), { url: first.url, clientId: rotated.clientId, outcome: "token", tokenType: "Bearer" });
        assert.deepEqual(result.outputs.creatioHealthCheck, passed);
      });

      it("a wrong Creatio password fails at login with a clear message and no secret", async function () {
        assert.ok(rotated, "needs the rotation");
        let failure: RunError | undefined;
        try {
          await timed(`${testCase.runtime}: wrong password`, () => executor.run(program(() => args("2", WRONG_PASSWORD))));
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
        // Creatio still holds the rotated client.
        assert.equal(creatio.storedSecret(), rotated.clientSecret);
      });

      it(`destroy ${testCase.clearSettingsOnDelete ? "clears" : "leaves"} Creatio's settings`, async function () {
        assert.ok(rotated, "needs a deployed stack");
        const operations = await timed(`${testCase.runtime}: destroy`, () => executor.destroy());
        const order = operations.map(o => o.name);
        assert.ok(order.indexOf(`${name}-creatio-connection`) < order.indexOf(`${name}-readiness`), "the connection goes first");
        assert.deepEqual(executor.state, []);
        const left = await docker(["ps", "-aq", "--filter", `label=${CONTAINER_LABEL}=${name}`]);
        assert.equal(left.stdout.trim(), "");
        if (testCase.clearSettingsOnDelete) {
          assert.deepEqual(creatio.state.settings, { OAuth20IdentityServerUrl: "", OAuth20IdentityServerClientId: "", OAuth20IdentityServerClientSecret: "" });
        } else {
          assert.equal(creatio.state.settings.OAuth20IdentityServerClientId, rotated.clientId);
          assert.equal(creatio.storedSecret(), rotated.clientSecret);
        }
      });
    });
  }
});
