// Tests for src/scripts/creatio-connect.js: the real script runs as a child process against the stand-in Creatio
// (test/fixtures/creatio) on 127.0.0.1, whose health check requests a real token from a small token server here.
// Secrets travel on stdin; every run's output is checked for them. The last block tests the pure rules.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as tls from "tls";
import { AddressInfo } from "net";
import * as path from "path";

import { featureNameEncoding } from "../../src/creatioPlan";
import { parseVersion } from "../../src/versions";

const SCRIPT = path.join(__dirname, "..", "..", "src", "scripts", "creatio-connect.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startCreatio, HEALTH_MESSAGES } = require("../fixtures/creatio/creatio.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const connect = require("../../src/scripts/creatio-connect.js");

const USER = "Supervisor";
const PASSWORD = "Creatio-PASSWORD-7c1e-never-printed";
const CLIENT_ID = "AbCdEfGh12345678";
const SECRET = "Client-SECRET-0d4b9a-never-printed-32";

interface StandIn {
  url: string;
  state: any;
  requests: Array<{ method: string; path: string; status: number }>;
  storedSecret(): string;
  close(): Promise<void>;
}

interface TokenServer {
  url: string;
  tokens: number;
  refused: number;
  close(): Promise<void>;
}

/** Discovery and client_credentials for one client, like the Identity Service; it may refuse the first requests. */
function startTokenServer(clientId: string, secret: string, refuseFirst = 0): Promise<TokenServer> {
  const counts = { tokens: 0, refused: 0 };
  let base = "";
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.setHeader("Content-Type", "application/json");
      if (req.method === "GET" && req.url === "/.well-known/openid-configuration") {
        // Creatio's discovery (IdentityModel's) requires a key set.
        res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/.well-known/openid-configuration/jwks`, token_endpoint: `${base}/connect/token` }));
      } else if (req.method === "GET" && req.url === "/.well-known/openid-configuration/jwks") {
        res.end(JSON.stringify({ keys: [] }));
      } else if (req.method === "POST" && req.url === "/connect/token") {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        const valid = form.get("grant_type") === "client_credentials" && form.get("client_id") === clientId && form.get("client_secret") === secret;
        if (valid && counts.refused >= refuseFirst) {
          counts.tokens++;
          res.end(JSON.stringify({ access_token: "opaque-token", expires_in: 3600, token_type: "Bearer" }));
        } else {
          counts.refused++;
          res.statusCode = 400;
          res.end(JSON.stringify({ error: "invalid_client" }));
        }
      } else {
        res.statusCode = 404;
        res.end("{}");
      }
    });
  });
  return new Promise(resolve =>
    server.listen(0, "127.0.0.1", () => {
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        url: base,
        get tokens() {
          return counts.tokens;
        },
        get refused() {
          return counts.refused;
        },
        close: () => new Promise(done => server.close(() => done())),
      });
    }),
  );
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(action: string, env: Record<string, string>, stdin: unknown = { password: PASSWORD, clientSecret: SECRET }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, action], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", c => (stdout += c));
    child.stderr.on("data", c => (stderr += c));
    child.on("error", reject);
    child.on("close", code => {
      for (const secret of [PASSWORD, SECRET]) {
        assert.ok(!stdout.includes(secret) && !stderr.includes(secret), "no secret in the script's output");
      }
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(typeof stdin === "string" ? stdin : JSON.stringify(stdin));
  });
}

function environment(creatio: StandIn, runtime: string, version: string, steps: string, identityServiceUrl: string, extra: Record<string, string> = {}) {
  return {
    CREATIO_URL: creatio.url,
    CREATIO_USERNAME: USER,
    CREATIO_RUNTIME: runtime,
    CREATIO_VERSION: version,
    CREATIO_ROUTE_PREFIX: runtime === "netFramework" ? "/0" : "",
    CREATIO_STEPS: steps,
    // As the plan sets it for the version (creatioPlan.ts).
    CREATIO_FEATURE_NAME_ENCODING: featureNameEncoding(parseVersion(version)!),
    CREATIO_TIMEOUT_SECONDS: "20",
    IDENTITY_SERVICE_URL: identityServiceUrl,
    IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID,
    ...extra,
  };
}

describe("creatio-connect.js against the stand-in Creatio", function () {
  this.timeout(30000);
  let identity: TokenServer;
  const open: StandIn[] = [];

  async function creatio(runtime: string, version: string, options: Record<string, unknown> = {}): Promise<StandIn> {
    const started: StandIn = await startCreatio({ runtime, version, users: { [USER]: PASSWORD }, identityServiceTimeoutMs: 2000, ...options });
    open.push(started);
    return started;
  }

  before(async () => {
    identity = await startTokenServer(CLIENT_ID, SECRET);
  });
  after(async () => {
    await Promise.all(open.map(c => c.close()));
    await identity.close();
  });

  for (const [runtime, version, steps] of [
    ["netFramework", "8.1.3", "settings,feature,defaultResource,healthCheck"],
    ["net", "8.3.2", "settings,defaultResource,healthCheck"],
  ]) {
    it(`${runtime} ${version}: connects, and Creatio's health check gets a real token from the configured service`, async () => {
      const standIn = await creatio(runtime, version);
      const before = identity.tokens;
      const result = await run("apply", environment(standIn, runtime, version, steps, identity.url));
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.deepEqual(report.steps, steps.split(","));
      assert.deepEqual(report.healthCheck, {
        checked: true,
        hasProblem: false,
        isSystemSettingsFilledIn: true,
        isIdentityServiceAvailable: true,
        isAccessTokenRetrievableForSystemActions: true,
        // Reported from 8.2 on.
        ...(version >= "8.2" ? { isDefaultResourceRegistered: true } : {}),
      });
      // Creatio's default-resource registration and its health check each ask the service for tokens with the client.
      assert.ok(identity.tokens > before, "Creatio got tokens from the service");
      assert.equal(standIn.state.settings.OAuth20IdentityServerUrl, identity.url);
      assert.equal(standIn.state.settings.OAuth20IdentityServerClientId, CLIENT_ID);
      assert.notEqual(standIn.state.settings.OAuth20IdentityServerClientSecret, SECRET, "stored encrypted");
      assert.equal(standIn.storedSecret(), SECRET);
      // Login at the site root, every other route with the runtime's prefix.
      const prefix = runtime === "netFramework" ? "/0/" : "/";
      assert.equal(standIn.requests[0].path, "/ServiceModel/AuthService.svc/Login");
      for (const request of standIn.requests.slice(1)) {
        assert.ok(request.path.startsWith(prefix) && request.status < 400, `${request.method} ${request.path} -> ${request.status}`);
        if (runtime === "net") assert.ok(!request.path.startsWith("/0/"));
      }
      assert.match(standIn.state.defaultResource, /^ApplicationAccess_[0-9a-f]{32}$/);
      assert.equal(report.defaultResourceCreated, true);
      if (runtime === "netFramework") {
        assert.equal(standIn.state.features.OAuth20Integration, 1);
        // 8.1 reads the feature name of the cache call as it is.
        assert.deepEqual(standIn.state.featureCacheClears, [{ requested: "OAuth20Integration", cleared: "OAuth20Integration" }]);
      }
    });
  }

  it("an existing default resource counts as success; a second run re-applies and passes", async () => {
    const standIn = await creatio("netFramework", "8.0.9");
    const env = environment(standIn, "netFramework", "8.0.9", "settings,feature,defaultResource", identity.url);
    assert.equal((await run("apply", env)).code, 0);
    const resource = standIn.state.defaultResource;
    const second = await run("apply", env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout).defaultResourceCreated, false);
    assert.equal(standIn.state.defaultResource, resource);
    assert.deepEqual(JSON.parse(second.stdout).healthCheck, { checked: false });
  });

  it("8.2: clears the feature's cache with its name in base64, as clio sends it, and creates the default resource the health check asks for", async () => {
    const standIn = await creatio("netFramework", "8.2.3");
    const env = environment(standIn, "netFramework", "8.2.3", "settings,feature,defaultResource,healthCheck", identity.url, {
      CREATIO_FEATURE_NAME_ENCODING: "base64",
    });
    const result = await run("apply", env);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /warning/);
    assert.deepEqual(standIn.state.featureCacheClears, [{ requested: Buffer.from("OAuth20Integration").toString("base64"), cleared: "OAuth20Integration" }]);
    const report = JSON.parse(result.stdout);
    assert.equal(report.defaultResourceCreated, true);
    assert.equal(report.healthCheck.isDefaultResourceRegistered, true);
  });

  it("8.2 without the default resource: the health check's problem names it and what creates it", async () => {
    const standIn = await creatio("netFramework", "8.2.3");
    const result = await run("apply", environment(standIn, "netFramework", "8.2.3", "settings,healthCheck", identity.url));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /healthCheck: Creatio reports a problem: .*the default OAuth resource is not registered: Creatio registers it with the Identity Service using the system client when AddDefaultResource runs/);
  });

  it("a default resource Creatio cannot register names the URL Creatio must reach", async () => {
    const standIn = await creatio("netFramework", "8.2.3");
    const result = await run("apply", environment(standIn, "netFramework", "8.2.3", "settings,defaultResource", "http://127.0.0.1:9"));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /defaultResource: Creatio did not create the default OAuth resource \(.*Unable to connect to OAuth server.*\); Creatio cannot reach the Identity Service at its OAuth20IdentityServerUrl from where it runs/);
    assert.equal(standIn.state.defaultResource, undefined);
  });

  it("a wrong password (HTTP 200, Code 1) fails at login with what to check, and sends nothing else", async () => {
    const standIn = await creatio("netFramework", "8.1.3");
    const result = await run("apply", environment(standIn, "netFramework", "8.1.3", "settings,healthCheck", identity.url), { password: "wrong-password-x", clientSecret: SECRET });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /failed at login: Creatio refused the login of user "Supervisor" \(Code 1\)/);
    assert.match(result.stderr, /check the Creatio username and password/);
    assert.ok(!result.stderr.includes("wrong-password-x"));
    assert.equal(standIn.requests.length, 1);
    assert.equal(standIn.state.settings.OAuth20IdentityServerClientId, "");
  });

  it("the wrong runtime (no /0 on .NET Framework) fails naming the runtime and route", async () => {
    const standIn = await creatio("netFramework", "8.1.3");
    const result = await run("apply", { ...environment(standIn, "net", "8.1.3", "settings", identity.url) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /settings: Creatio answered HTTP 404 to \/DataService\/json\/SyncReply\/PostSysSettingsValues/);
    assert.match(result.stderr, /runtime net: routes without \/0/);
  });

  it("an Identity Service URL Creatio cannot reach maps to 'not reachable from the Creatio host'", async () => {
    const standIn = await creatio("net", "8.3.2");
    const result = await run("apply", environment(standIn, "net", "8.3.2", "settings,healthCheck", "http://127.0.0.1:9"));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /healthCheck: Creatio reports a problem: "IdentityService specified in system setting OAuth20IdentityServerUrl is unavailable\."/);
    assert.match(result.stderr, /not reachable from the Creatio host.*\(the same after 3 checks\)/);
    assert.equal(standIn.requests.filter(r => r.path === "/api/OAuthHealthCheck").length, 3);
  });

  it("a client the service does not know maps to 'the service refused the client'", async () => {
    const standIn = await creatio("netFramework", "8.2.1");
    const refusedBefore = identity.refused;
    const result = await run("apply", environment(standIn, "netFramework", "8.2.1", "settings,healthCheck", identity.url), { password: PASSWORD, clientSecret: "another-secret-not-the-client" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Can't retrieve access_token/);
    assert.match(result.stderr, /the Identity Service refused the client/);
    assert.ok(!result.stderr.includes("another-secret-not-the-client"));
    assert.equal(identity.refused, refusedBefore + 3, "checked three times");
  });

  it("a client id longer than the ShortText setting is reported as not saved", async () => {
    const standIn = await creatio("netFramework", "8.2.1");
    const result = await run("apply", { ...environment(standIn, "netFramework", "8.2.1", "settings", identity.url), IDENTITY_SERVICE_CLIENT_ID: "x".repeat(51) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Creatio did not save OAuth20IdentityServerClientId; check that user "Supervisor" may change system settings/);
  });

  it("a failed feature cache clear is a warning, not a failure", async () => {
    const standIn = await creatio("netFramework", "8.1.3", { cacheClearFails: true });
    const result = await run("apply", environment(standIn, "netFramework", "8.1.3", "settings,feature", identity.url));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: feature OAuth20Integration is on, but Creatio did not clear its feature cache \(HTTP 500\)/);
    assert.equal(standIn.state.features.OAuth20Integration, 1);
  });

  it("a session that ends between steps is renewed once", async () => {
    const standIn = await creatio("net", "8.3.2");
    const originalSet = standIn.state.sessions.set.bind(standIn.state.sessions);
    let logins = 0;
    // Drop the first session right after it is created: the first application request gets 401.
    standIn.state.sessions.set = (key: string, value: unknown) => {
      logins++;
      const result = originalSet(key, value);
      if (logins === 1) setImmediate(() => standIn.state.sessions.delete(key));
      return result;
    };
    const result = await run("apply", environment(standIn, "net", "8.3.2", "settings,defaultResource,healthCheck", identity.url));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(logins, 2);
    assert.equal(standIn.requests.filter(r => r.status === 401).length, 1);
  });

  describe("over HTTPS with a self-signed certificate", () => {
    const TLS = { pfx: fs.readFileSync(path.join(__dirname, "..", "fixtures", "certificates", "tls.pfx")), passphrase: "tls-test-password" };
    let standIn: StandIn;
    let certificatePem: string;

    before(async () => {
      standIn = await creatio("net", "8.3.2", { tls: TLS });
      // The server's own certificate, as an administrator would export it.
      const url = new URL(standIn.url);
      certificatePem = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port: Number(url.port), servername: "localhost", rejectUnauthorized: false }, () => {
          const der = socket.getPeerCertificate().raw.toString("base64");
          socket.end();
          resolve(`-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`);
        });
        socket.on("error", reject);
      });
    });

    it("is refused by default, with what to do", async () => {
      const result = await run("apply", environment(standIn, "net", "8.3.2", "settings", identity.url));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /login: Creatio's TLS certificate is not trusted \(\w+\); give its authority in tls\.caCertificate/);
    });

    it("connects when the certificate is given as the authority", async () => {
      const result = await run("apply", environment(standIn, "net", "8.3.2", "settings,defaultResource,healthCheck", identity.url, { CREATIO_CA_CERTIFICATE: certificatePem }));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).healthCheck.hasProblem, false);
    });

    it("connects with verification turned off", async () => {
      const result = await run("apply", environment(standIn, "net", "8.3.2", "settings", identity.url, { CREATIO_TLS_VERIFY: "false" }));
      assert.equal(result.code, 0, result.stderr);
    });
  });

  it("waits through 503 answers of a Creatio that is starting", async () => {
    const standIn = await creatio("netFramework", "8.2.1", { startingRequests: 2 });
    const result = await run("apply", environment(standIn, "netFramework", "8.2.1", "settings", identity.url));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(standIn.requests.slice(0, 3).map(r => r.status), [503, 503, 200]);
  });

  it("gives up on a Creatio that keeps answering 503 at the time limit", async () => {
    const standIn = await creatio("netFramework", "8.2.1", { startingRequests: 1000 });
    const result = await run("apply", { ...environment(standIn, "netFramework", "8.2.1", "settings", identity.url), CREATIO_TIMEOUT_SECONDS: "2" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /login: no usable answer from .*\/ServiceModel\/AuthService\.svc\/Login within the time limit \(2 s\): HTTP 503/);
    assert.ok(standIn.requests.length >= 2 && standIn.requests.length < 10, `${standIn.requests.length} attempts, with backoff`);
  });

  it("passes when a health check problem clears on the next check", async () => {
    const lagging = await startTokenServer(CLIENT_ID, SECRET, 1);
    try {
      // 8.1.3: a health check that ignores the default resource, so the check's token request is the first one.
      const standIn = await creatio("netFramework", "8.1.3");
      const result = await run("apply", environment(standIn, "netFramework", "8.1.3", "settings,healthCheck", lagging.url));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(lagging.refused, 1);
      assert.deepEqual(standIn.state.healthChecks.map((h: { outcome: string }) => h.outcome), ["no token", "token"]);
    } finally {
      await lagging.close();
    }
  });

  it("clear empties the three settings", async () => {
    const standIn = await creatio("netFramework", "8.2.1");
    assert.equal((await run("apply", environment(standIn, "netFramework", "8.2.1", "settings", identity.url))).code, 0);
    const result = await run("clear", { CREATIO_URL: standIn.url, CREATIO_USERNAME: USER, CREATIO_ROUTE_PREFIX: "/0" }, { password: PASSWORD });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(standIn.state.settings, { OAuth20IdentityServerUrl: "", OAuth20IdentityServerClientId: "", OAuth20IdentityServerClientSecret: "" });
  });

  it("an unreachable Creatio fails within the time limit, naming the URL", async () => {
    const result = await run("apply", {
      CREATIO_URL: "http://127.0.0.1:9",
      CREATIO_USERNAME: USER,
      CREATIO_ROUTE_PREFIX: "",
      CREATIO_STEPS: "settings",
      CREATIO_TIMEOUT_SECONDS: "1",
      IDENTITY_SERVICE_URL: identity.url,
      IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /login: no usable answer from http:\/\/127\.0\.0\.1:9\/ServiceModel\/AuthService\.svc\/Login within the time limit \(1 s\): ECONNREFUSED/);
  });

  it("bad configuration exits 2 naming the variable", async () => {
    const result = await run("apply", { CREATIO_URL: "http://127.0.0.1:9", CREATIO_USERNAME: USER, CREATIO_ROUTE_PREFIX: "/1" });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /CREATIO_ROUTE_PREFIX must be "\/0"/);
    const noSecret = await run("apply", environment({ url: "http://127.0.0.1:9" } as StandIn, "net", "8.3.2", "settings", identity.url), { password: PASSWORD });
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /standard input has no clientSecret/);
  });
});

describe("creatio-connect.js rules", () => {
  it("maps each of the four health check messages to what to do", () => {
    const cases: Array<[string, RegExp]> = [
      [HEALTH_MESSAGES.allEmpty, /stale cache/],
      [HEALTH_MESSAGES.oneEmpty("OAuth20IdentityServerUrl"), /may change system settings for all users/],
      [HEALTH_MESSAGES.unavailable, /not reachable from the Creatio host/],
      [HEALTH_MESSAGES.noToken, /refused the client/],
    ];
    for (const [message, advice] of cases) {
      const { problem, result } = connect.interpretHealthCheck(500, { HasProblem: true, Message: message });
      assert.match(problem, advice, message);
      assert.equal(result.hasProblem, true);
    }
    assert.equal(connect.interpretHealthCheck(200, { HasProblem: false, IsSystemSettingsFilledIn: true }).problem, undefined);
    assert.match(connect.interpretHealthCheck(500, "<html>").problem, /without a health check result/);
    assert.match(connect.interpretHealthCheck(500, { HasProblem: true, Message: "Something new" }).problem, /Diagnostic tab/);
  });

  it("reads AddDefaultResource: created, already there, or failed", () => {
    assert.deepEqual(connect.defaultResourceOutcome({ AddDefaultResourceResult: { success: true, scope: "s" } }), { ok: true, created: true });
    assert.deepEqual(connect.defaultResourceOutcome({ AddDefaultResourceResult: { success: false, errorInfo: { errorCode: "ItemAlreadyExistException" } } }), { ok: true, created: false });
    assert.equal(connect.defaultResourceOutcome({ AddDefaultResourceResult: { success: false, errorInfo: { message: "OAuth disabled" } } }).ok, false);
    assert.equal(connect.defaultResourceOutcome(undefined).ok, false);
  });

  it("checks saveResult per code; other fields may be absent", () => {
    const codes = ["A", "B", "C"];
    assert.deepEqual(connect.unsavedSettings({ saveResult: { A: true, B: true, C: true } }, codes), []);
    assert.deepEqual(connect.unsavedSettings({ saveResult: { A: true, B: false } }, codes), ["B", "C"]);
    assert.deepEqual(connect.unsavedSettings({ responseStatus: { Message: "x" }, success: false }, codes), codes);
  });

  it("keeps every cookie of every response and scrubs secrets from text", () => {
    const jar = new connect.CookieJar();
    jar.store([".ASPXAUTH=a; path=/0; HttpOnly", "BPMCSRF=c; path=/"]);
    jar.store(["BPMSESSIONID=s; path=/"]);
    assert.equal(jar.header(), ".ASPXAUTH=a; BPMCSRF=c; BPMSESSIONID=s");
    assert.equal(jar.get("BPMCSRF"), "c");
    assert.equal(connect.scrub("a p4ss b p4ss", ["p4ss", ""]), "a *** b ***");
  });
});
