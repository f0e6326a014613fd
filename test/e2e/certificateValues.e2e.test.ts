// Certificates from values on the real Docker Engine: the TLS certificate given as PEM (a certificate issued by a
// throwaway CA, with its key, as @pulumi/tls returns them) and the token-signing certificate given as PEM, both as
// secret Outputs (as `pulumi config get --secret`, ESC or another resource hand them over). The service answers over
// HTTPS with exactly that certificate and its chain, which the readiness gate verifies against the CA (given as
// `readiness.caCertificate`), and publishes the signing certificate's key.
//
// Image: the stand-in Identity Service (test/fixtures/identity-service), which loads Kestrel's certificate and the
// signing PFX as the real service does.
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import * as tls from "tls";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { createScratchDatabase, ScratchDatabase } from "./infra/postgres";
import { Executor, RunResult } from "./support/executor";
import { freePort } from "../support/freePort";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";
import { StandInContext, standInContext } from "./support/standInContext";

const CERTIFICATES = path.join(__dirname, "..", "fixtures", "certificates");
const read = (name: string) => fs.readFileSync(path.join(CERTIFICATES, name), "utf8");
const CREATIO_VERSION = "8.2.3";
const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-e2e-cert-values-${RUN_ID}`;

/** The certificate a TLS server presents on `port` (127.0.0.1), as PEM, trusting only `ca` for `localhost`. */
async function presentedCertificate(port: number, ca: string): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca }, () => {
      resolve(socket.getPeerX509Certificate()!);
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("IdentityService on Docker: TLS and signing certificates from secret PEM values, on the real Docker Engine", function () {
  let env: DeploymentSuiteEnv;
  let db: ScratchDatabase;
  let standIn: StandInContext;
  const executors: Executor[] = [];
  const log = process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined;

  before(async function () {
    env = await prepareDeploymentSuite();
    standIn = standInContext({ seedingRule: "missing-id", creatioVersion: CREATIO_VERSION });
    db = await createScratchDatabase(env, "cis_e2e_cert_values");
  });

  after(async function () {
    for (const executor of executors) {
      const removed = await executor.cleanup().catch(() => []);
      if (removed.length > 0) console.log(`  cleanup removed: ${removed.join(", ")}`);
    }
    await db?.drop().catch(() => undefined);
    standIn?.remove();
  });

  it("serves HTTPS with the PEM certificate and its chain, verified against the CA, and signs with the PEM signing key", async function () {
    const executor = new Executor({ log });
    executors.push(executor);
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    const connection = (host: string) => `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;
    const ca = read("tls-ca.pem");
    const args = (): IdentityServiceArgs => ({
      target: DeploymentTarget.Docker,
      creatioVersion: CREATIO_VERSION,
      database: { provider: DatabaseProvider.Postgres, connectionString: pulumi.secret(connection(env.hostFromContainers)), reseedConnectionString: pulumi.secret(connection(env.host)) },
      signingCertificate: { certificatePem: pulumi.output(read("generated-certificate.pem")), privateKeyPem: pulumi.secret(read("generated-key.pem")) },
      docker: {
        build: { context: standIn.path },
        httpPort,
        bindAddress: "127.0.0.1",
        https: { port: httpsPort, certificate: { certificatePem: pulumi.output(read("tls-leaf.pem") + ca), privateKeyPem: pulumi.secret(read("tls-leaf-key.pem")) } },
      },
      readiness: { timeoutSeconds: 120, caCertificate: ca },
    });
    const result: RunResult = await executor.run(() => {
      const service = new IdentityService(NAME, args());
      return { url: service.url };
    });
    // The gate got discovery and a token over https://localhost, verifying the chain against the CA.
    assert.equal(result.outputs.url, `https://localhost:${httpsPort}`);

    const presented = await presentedCertificate(httpsPort, ca);
    assert.equal(presented.fingerprint256, new crypto.X509Certificate(read("tls-leaf.pem")).fingerprint256, "Kestrel serves the PEM certificate");

    const jwks = await new Promise<{ keys: { x5c: string[] }[] }>((resolve, reject) => {
      const request = https.get(`https://localhost:${httpsPort}/.well-known/openid-configuration/jwks`, { ca }, response => {
        let body = "";
        response.on("data", chunk => (body += chunk));
        response.on("end", () => resolve(JSON.parse(body)));
      });
      request.on("error", reject);
    });
    const signing = new crypto.X509Certificate(read("generated-certificate.pem"));
    assert.deepEqual(jwks.keys.map(key => key.x5c[0]), [signing.raw.toString("base64")], "the service signs with the PEM signing certificate");
  });
});
