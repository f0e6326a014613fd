// Tests for src/scripts/readiness.js: the real script runs as a child process against real HTTP
// servers on 127.0.0.1, with the client secret on stdin. The last block requires the module and
// drives waitForReady with an injected clock and fetch.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { createPrivateCa, IssuedCertificate, PrivateCa } from "../support/privateCa";

const scriptPath = path.join(__dirname, "..", "..", "src", "scripts", "readiness.js");

const SECRET = "Zq9-readiness-SECRET-4f7e1b2c-never-printed";
const CLIENT_ID = "creatio-system-client";
// Upper bound for "the script finished instead of hanging", on top of the configured timeout.
const EXIT_SLACK_MS = 4000;

interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (request: SeenRequest, response: http.ServerResponse) => void;

interface TestServer {
  url: string;
  requests: SeenRequest[];
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

const openServers: (http.Server | https.Server)[] = [];

function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const seen: SeenRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(seen);
      handler(seen, res);
    });
  });
  openServers.push(server);
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, requests });
    });
  });
}

function closeServer(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port that was just free: listen on port 0, note it, close. */
async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return `http://127.0.0.1:${port}`;
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function discoveryDocument(server: { url: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { issuer: server.url, jwks_uri: `${server.url}/.well-known/openid-configuration/jwks`, ...extra };
}

const isDiscovery = (request: SeenRequest) => request.method === "GET" && request.path === "/.well-known/openid-configuration";
const isTokenRequest = (request: SeenRequest) => request.method === "POST";

/** A service whose discovery works and whose /connect/token accepts exactly CLIENT_ID + SECRET. */
async function workingService(tokenPath = "/connect/token"): Promise<TestServer> {
  const server: TestServer = await startServer((request, response) => {
    if (isDiscovery(request)) return sendJson(response, 200, discoveryDocument(server));
    if (request.method === "POST" && request.path === tokenPath) return answerToken(request, response);
    sendJson(response, 404, { error: "not_found" });
  });
  return server;
}

function answerToken(request: SeenRequest, response: http.ServerResponse): void {
  const form = new URLSearchParams(request.body);
  const good =
    form.get("grant_type") === "client_credentials" && form.get("client_id") === CLIENT_ID && form.get("client_secret") === SECRET;
  if (good) return sendJson(response, 200, { access_token: "token-value", token_type: "Bearer", expires_in: 3600 });
  sendJson(response, 400, { error: "invalid_client" });
}

function runScript(env: Record<string, string>, stdin = JSON.stringify({ clientSecret: SECRET })): Promise<RunResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [scriptPath], {
    env: { ...(process.env.SystemRoot ? { SystemRoot: process.env.SystemRoot } : {}), ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.on("error", () => undefined); // the script may exit before reading stdin
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const result = { code, stdout, stderr, elapsedMs: Date.now() - started };
      assert.ok(!stdout.includes(SECRET) && !stderr.includes(SECRET), "the secret must never be printed");
      resolve(result);
    });
  });
}

function gateEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    IDENTITY_SERVICE_URL: url,
    IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID,
    READINESS_TIMEOUT_SECONDS: "3",
    READINESS_POLL_INTERVAL_MS: "50",
    ...extra,
  };
}

function assertFinishedWithin(result: RunResult, timeoutSeconds: number): void {
  assert.ok(
    result.elapsedMs < timeoutSeconds * 1000 + EXIT_SLACK_MS,
    `expected the script to give up after about ${timeoutSeconds} s, it ran ${result.elapsedMs} ms`,
  );
}

describe("readiness gate script", function () {
  afterEach(async () => {
    await Promise.all(openServers.splice(0).map(closeServer));
  });

  describe("ready", () => {
    it("passes once discovery stops answering 503, and verifies a client_credentials token", async () => {
      let discoveryCalls = 0;
      const server: TestServer = await startServer((request, response) => {
        if (isDiscovery(request)) {
          discoveryCalls++;
          if (discoveryCalls <= 3) return sendJson(response, 503, { status: "starting" });
          return sendJson(response, 200, discoveryDocument(server));
        }
        if (request.method === "POST" && request.path === "/connect/token") return answerToken(request, response);
        sendJson(response, 404, {});
      });

      const result = await runScript(gateEnv(server.url));

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      const lines = result.stdout.trim().split("\n");
      assert.equal(lines.length, 1, "exactly one line on stdout");
      const output = JSON.parse(lines[0]);
      assert.equal(output.issuer, server.url);
      assert.equal(output.tokenVerified, true);
      assert.equal(typeof output.elapsedMs, "number");
      assert.ok(discoveryCalls >= 4, "discovery was polled until it answered");
      const tokenRequests = server.requests.filter(isTokenRequest);
      assert.equal(tokenRequests.length, 1);
      assert.match(String(tokenRequests[0].headers["content-type"]), /^application\/x-www-form-urlencoded/);
      const form = new URLSearchParams(tokenRequests[0].body);
      assert.equal(form.get("grant_type"), "client_credentials");
      assert.equal(form.get("client_id"), CLIENT_ID);
      assert.equal(form.get("client_secret"), SECRET);
    });

    it("keeps retrying the token request until the service has inserted its client", async () => {
      let tokenCalls = 0;
      const server: TestServer = await startServer((request, response) => {
        if (isDiscovery(request)) return sendJson(response, 200, discoveryDocument(server));
        tokenCalls++;
        if (tokenCalls <= 2) return sendJson(response, 400, { error: "invalid_client" });
        answerToken(request, response);
      });

      const result = await runScript(gateEnv(server.url));

      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).tokenVerified, true);
      assert.equal(tokenCalls, 3);
    });

    it("honours the token_endpoint advertised by the discovery document", async () => {
      const server: TestServer = await startServer((request, response) => {
        if (isDiscovery(request)) {
          return sendJson(response, 200, discoveryDocument(server, { token_endpoint: `${server.url}/identity/connect/token` }));
        }
        if (request.method === "POST" && request.path === "/identity/connect/token") return answerToken(request, response);
        sendJson(response, 404, {});
      });

      const result = await runScript(gateEnv(server.url));

      assert.equal(result.code, 0, result.stderr);
      const posts = server.requests.filter(isTokenRequest).map((request) => request.path);
      assert.deepEqual(posts, ["/identity/connect/token"], "only the advertised endpoint is used");
    });

    it("asks the advertised token path at the address it reaches the service at, whatever scheme and host the service advertises", async () => {
      // A service that advertises https (ForceHttpsSchemeInRequests, or a TLS proxy in front) and its public host name,
      // while this check reaches it over plain HTTP on another address.
      const server: TestServer = await startServer((request, response) => {
        if (isDiscovery(request)) {
          return sendJson(response, 200, discoveryDocument(server, { token_endpoint: "https://ids.example.com/identity/connect/token" }));
        }
        if (request.method === "POST" && request.path === "/identity/connect/token") return answerToken(request, response);
        sendJson(response, 404, {});
      });

      const result = await runScript(gateEnv(server.url));

      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(server.requests.filter(isTokenRequest).map((request) => request.path), ["/identity/connect/token"]);
    });

    it("passes without any token request when READINESS_VERIFY_TOKEN=false (no client id, empty stdin)", async () => {
      const server = await workingService();

      const result = await runScript(
        { IDENTITY_SERVICE_URL: server.url, READINESS_VERIFY_TOKEN: "false", READINESS_TIMEOUT_SECONDS: "2" },
        "{}",
      );

      assert.equal(result.code, 0, result.stderr);
      const output = JSON.parse(result.stdout);
      assert.equal(output.issuer, server.url);
      assert.equal(output.tokenVerified, false);
      assert.ok(server.requests.length >= 1);
      assert.ok(server.requests.every(isDiscovery), "the server saw only discovery requests");
    });
  });

  describe("never ready", () => {
    it("gives up on a refused connection, naming the URL, ECONNREFUSED and what to check", async () => {
      const url = await closedPortUrl();

      const result = await runScript(gateEnv(url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assertFinishedWithin(result, 1);
      assert.ok(result.stderr.includes(`${url}/.well-known/openid-configuration`), result.stderr);
      assert.match(result.stderr, /after 1 s/);
      assert.match(result.stderr, /ECONNREFUSED/);
      assert.match(result.stderr, /running/);
      assert.match(result.stderr, /port/);
    });

    it("never passes when every connection is closed at once (Docker's port proxy before the container listens), where Node's fetch may never settle", async () => {
      // Before the attempts had a timer of their own, the process ended with exit code 0 and printed nothing in about
      // half of these runs: the gate passed without an answer.
      const server = net.createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      try {
        const url = `http://localhost:${(server.address() as AddressInfo).port}`;
        for (let run = 0; run < 6; run++) {
          const result = await runScript(gateEnv(url, { READINESS_TIMEOUT_SECONDS: "1", READINESS_POLL_INTERVAL_MS: "20" }));
          assert.equal(result.code, 1, `run ${run}: exit ${result.code}, stdout ${JSON.stringify(result.stdout)}`);
          assert.equal(result.stdout, "");
          assert.match(result.stderr, /was not ready after 1 s: the discovery document at .* did not succeed; last seen: /);
        }
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("gives up when the service always answers 500, reporting the status and pointing at the logs", async () => {
      const server = await startServer((_request, response) => sendJson(response, 500, { error: "boom" }));

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assertFinishedWithin(result, 1);
      assert.ok(result.stderr.includes(server.url), result.stderr);
      assert.match(result.stderr, /HTTP 500 Internal Server Error/);
      assert.match(result.stderr, /logs/);
      assert.ok(server.requests.length >= 2, "it polled more than once");
    });

    it("bounds each attempt by the time left when the service accepts connections but never answers", async () => {
      const server = await startServer(() => undefined);

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assertFinishedWithin(result, 1);
      assert.match(result.stderr, /no answer within \d+ ms/);
    });

    it("reports a response that is not JSON", async () => {
      const server = await startServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/html" });
        response.end("<html><body>Default Web Site</body></html>");
      });

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, /response was not JSON/);
      assert.match(result.stderr, /text\/html/);
      assert.ok(server.requests.every(isDiscovery), "no token request before discovery succeeds");
    });

    it("reports discovery JSON without an issuer", async () => {
      const server = await startServer((_request, response) => sendJson(response, 200, { token_endpoint: "/connect/token", issuer: "" }));

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, /JSON had no issuer/);
    });

    it("reports a TLS error when an https URL meets a plain HTTP port", async () => {
      const server = await workingService();
      const httpsUrl = server.url.replace("http://", "https://");

      const result = await runScript(gateEnv(httpsUrl, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.ok(result.stderr.includes(httpsUrl), result.stderr);
      assert.match(result.stderr, /TLS error: /);
    });
  });

  describe("token rejected", () => {
    it("fails with invalid_client and the rotation hint when the secret differs", async () => {
      const server = await workingService();

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }), JSON.stringify({ clientSecret: "wrong-one" }));

      assert.equal(result.code, 1);
      assertFinishedWithin(result, 1);
      assert.ok(result.stderr.includes(`${server.url}/connect/token`), result.stderr);
      assert.match(result.stderr, /HTTP 400/);
      assert.match(result.stderr, /invalid_client/);
      assert.ok(result.stderr.includes(CLIENT_ID), "names the client id");
      assert.match(result.stderr, /unless client\.reseed is false or database\.reseedConnectionString names another database than the service uses/);
      assert.match(result.stderr, /delete the client's rows \(Clients, ClientScopes, ClientSecrets, ClientClaims\) yourself and restart the service/);
      assert.ok(!result.stderr.includes("wrong-one"), "not even a wrong secret is printed");
      assert.ok(server.requests.filter(isTokenRequest).length >= 2, "the token request was retried");
    });

    it("says the service may have dropped the client as misconfigured, not only that the credentials differ", async () => {
      const server = await workingService();

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }), JSON.stringify({ clientSecret: "wrong-one" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, /or the service dropped the client because it rejects its configuration/);
      assert.match(result.stderr, /"Invalid client configuration for client"/);
    });

    it("asks for the token with the scopes Creatio requests, and names the refused ones (never the secret) on invalid_scope", async () => {
      const known = new Set(["register_own_resource", "get_resource_list", "IdentityServerApi"]);
      const server: TestServer = await startServer((request, response) => {
        if (isDiscovery(request)) return sendJson(response, 200, discoveryDocument(server));
        const form = new URLSearchParams(request.body);
        if (form.get("client_secret") !== SECRET) return sendJson(response, 400, { error: "invalid_client" });
        const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        if (scopes.length === 0 || scopes.some((scope) => !known.has(scope))) return sendJson(response, 400, { error: "invalid_scope" });
        sendJson(response, 200, { access_token: "token-value", token_type: "Bearer", expires_in: 3600, scope: scopes.join(" ") });
      });
      const scopes = "register_own_resource activate_user get_resource_list remove_client_user IdentityServerApi";

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1", READINESS_TOKEN_SCOPES: scopes }));

      assert.equal(result.code, 1);
      const asked = server.requests.filter(isTokenRequest).map((request) => new URLSearchParams(request.body).get("scope"));
      assert.equal(asked[0], scopes, "the first request asks for every scope at once");
      assert.match(result.stderr, /invalid_scope/);
      assert.match(result.stderr, /refused the scopes activate_user, remove_client_user/);
      assert.match(result.stderr, /AllowedScopes/);
      assert.doesNotMatch(result.stderr, /refused the scopes [^(]*register_own_resource/);

      const passing = await runScript(gateEnv(server.url, { READINESS_TOKEN_SCOPES: "register_own_resource IdentityServerApi" }));
      assert.equal(passing.code, 0, passing.stderr);
    });

    it("points at the logs and the database when the token endpoint answers 5xx", async () => {
      const server: TestServer = await startServer((request, response) => {
        if (isDiscovery(request)) return sendJson(response, 200, discoveryDocument(server));
        sendJson(response, 500, {});
      });

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, /HTTP 500/);
      assert.match(result.stderr, /logs/);
      assert.match(result.stderr, /database/);
    });

    it("never prints the secret, even when the server echoes it back", async () => {
      const server: TestServer = await startServer((request, response) => {
        if (isDiscovery(request)) return sendJson(response, 200, discoveryDocument(server));
        const form = new URLSearchParams(request.body);
        const echoed = form.get("client_secret") ?? "";
        sendJson(response, 401, { error: `invalid_client ${echoed}`, error_description: `secret ${echoed} is wrong` });
      });

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, /invalid_client/);
      // runScript asserts for every run that SECRET is absent from stdout and stderr.
      assert.ok(!result.stderr.includes(SECRET));
    });
  });

  describe("issuer", () => {
    /**
     * A service that builds its issuer and endpoints as IdentityServer4 does, from the request: the listener's scheme,
     * then (with forwarded headers on) the rightmost X-Forwarded-Proto, then ForceHttpsSchemeInRequests; the host from
     * the Host header; lower-cased.
     */
    async function issuerBuildingService(options: { forwardedHeaders: boolean; forceHttps?: boolean; answers?: (issuer: string, call: number) => string }) {
      let discoveryCalls = 0;
      const server: TestServer = await startServer((request, response) => {
        let scheme = "http";
        const proto = String(request.headers["x-forwarded-proto"] ?? "").split(",").pop()!.trim();
        if (options.forwardedHeaders && proto !== "") scheme = proto;
        if (options.forceHttps) scheme = "https";
        const origin = `${scheme}://${request.headers.host}`;
        if (isDiscovery(request)) {
          discoveryCalls++;
          const issuer = origin.toLowerCase();
          return sendJson(response, 200, { issuer: options.answers ? options.answers(issuer, discoveryCalls) : issuer, token_endpoint: `${origin}/connect/token` });
        }
        if (request.method === "POST" && request.path === "/connect/token") return answerToken(request, response);
        sendJson(response, 404, {});
      });
      return server;
    }

    const discoveries = (server: TestServer) => server.requests.filter(isDiscovery);

    it("passes when the service advertises the public URL to a request shaped as the proxy forwards Creatio's, and prints that issuer", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: true });

      const result = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://IDS.example.com/" }));

      assert.equal(result.code, 0, result.stderr);
      const output = JSON.parse(result.stdout);
      assert.equal(output.issuer, "https://ids.example.com");
      assert.equal(output.issuerVerified, true);
      const shaped = discoveries(server).filter((request) => request.headers.host === "ids.example.com");
      assert.equal(shaped.length, 1, "one discovery request with the public host");
      assert.equal(shaped[0].headers["x-forwarded-proto"], "https");
      // The token request goes to the advertised path at the address this check reaches the service at.
      assert.equal(server.requests.filter(isTokenRequest)[0].headers.host, new URL(server.url).host);
    });

    it("sends the public host as a client writes it: a default port left out, another port kept", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: true });

      const defaultPort = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://ids.example.com:443" }));
      const otherPort = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://ids.example.com:9443" }));

      assert.equal(defaultPort.code, 0, defaultPort.stderr);
      assert.equal(JSON.parse(defaultPort.stdout).issuer, "https://ids.example.com");
      assert.equal(otherPort.code, 0, otherPort.stderr);
      assert.equal(JSON.parse(otherPort.stdout).issuer, "https://ids.example.com:9443");
      assert.deepEqual(
        [...new Set(discoveries(server).map((request) => request.headers.host))].sort(),
        [new URL(server.url).host, "ids.example.com", "ids.example.com:9443"].sort(),
      );
    });

    it("asks the service directly, without forwarded headers, when the public URL is the address it reaches", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: true });

      const result = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: server.url + "/" }));

      assert.equal(result.code, 0, result.stderr);
      assert.ok(discoveries(server).every((request) => request.headers["x-forwarded-proto"] === undefined));
    });

    it("fails on an http issuer behind a TLS proxy, naming both URLs and forwarded headers or ForceHttpsSchemeInRequests as the fix", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: false });

      const result = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://ids.example.com", READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assertFinishedWithin(result, 1);
      assert.match(
        result.stderr,
        /^readiness: Identity Service at http:\/\/127\.0\.0\.1:\d+ was not ready after 1 s: it advertises the issuer http:\/\/ids\.example\.com, but Creatio is given https:\/\/ids\.example\.com \(publicUrl, or url without one\)/,
      );
      assert.match(result.stderr, /Host: ids\.example\.com, X-Forwarded-Proto: https/);
      assert.match(result.stderr, /turn on forwarded headers \(proxy\.forwardedHeaders.*set X-Forwarded-Proto.*forceHttpsSchemeInRequests to true/);
      assert.equal(server.requests.filter(isTokenRequest).length, 0, "no token request before the issuer is right");
    });

    it("fails on an https issuer when Creatio is given http, pointing at ForceHttpsSchemeInRequests", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: false, forceHttps: true });

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`advertises the issuer https://127\\.0\\.0\\.1:\\d+, but Creatio is given ${server.url.replace(/\./g, "\\.")} `));
      assert.match(result.stderr, /set forceHttpsSchemeInRequests to false/);
    });

    it("fails when the service advertises another host, saying the proxy must pass the original Host", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: true, answers: (issuer) => issuer.replace(/\/\/[^/]+/, "//backend:80") });

      const result = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://ids.example.com", READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, /advertises the issuer https:\/\/backend:80, but Creatio is given https:\/\/ids\.example\.com/);
      assert.match(result.stderr, /the proxy must pass the original Host header/);
    });

    it("fails on a public URL with a path, which the service never advertises", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: true });

      const result = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://login.example.com/ids/", READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1);
      assert.match(result.stderr, /advertises the issuer https:\/\/login\.example\.com, but Creatio is given https:\/\/login\.example\.com\/ids /);
      assert.match(result.stderr, /never carry a path.*host name \(or port\) of its own/);
    });

    it("keeps asking until the service advertises the public URL (a task still starting with its old settings)", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: true, answers: (issuer, call) => (call <= 3 ? issuer.replace("https:", "http:") : issuer) });

      const result = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://ids.example.com" }));

      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).issuer, "https://ids.example.com");
      assert.ok(discoveries(server).length >= 4);
    });

    it("checks no issuer with READINESS_VERIFY_ISSUER=false", async () => {
      const server = await issuerBuildingService({ forwardedHeaders: false });

      const result = await runScript(gateEnv(server.url, { IDENTITY_SERVICE_PUBLIC_URL: "https://ids.example.com", READINESS_VERIFY_ISSUER: "false" }));

      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).issuerVerified, false);
      assert.ok(discoveries(server).every((request) => request.headers["x-forwarded-proto"] === undefined));
    });

    it("checks the certificate of an https address against that address, not the public host it sends in Host", async () => {
      // test/fixtures/certificates/tls.pfx: a self-signed certificate for localhost, trusted here as the only CA.
      const pfx = fs.readFileSync(path.join(__dirname, "..", "fixtures", "certificates", "tls.pfx"));
      const seen: http.IncomingHttpHeaders[] = [];
      const server = https.createServer({ pfx, passphrase: "tls-test-password" }, (request, response) => {
        seen.push(request.headers);
        const proto = String(request.headers["x-forwarded-proto"] ?? "https");
        sendJson(response, 200, { issuer: `${proto}://${request.headers.host}` });
      });
      openServers.push(server);
      const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), "readiness-ca-"));
      try {
        const certificate = await new Promise<Buffer>((resolve, reject) => {
          const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
            resolve(socket.getPeerCertificate().raw);
            socket.end();
          });
          socket.on("error", reject);
        });
        const caFile = path.join(folder, "ca.pem");
        fs.writeFileSync(caFile, `-----BEGIN CERTIFICATE-----\n${certificate.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`);

        const result = await runScript({
          IDENTITY_SERVICE_URL: `https://localhost:${port}`,
          IDENTITY_SERVICE_PUBLIC_URL: "https://ids.example.com",
          READINESS_VERIFY_TOKEN: "false",
          READINESS_TIMEOUT_SECONDS: "3",
          NODE_EXTRA_CA_CERTS: caFile,
        });

        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout).issuer, "https://ids.example.com");
        assert.ok(seen.some((headers) => headers.host === "ids.example.com"));
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });
  });

  describe("certificate verification (a private CA)", () => {
    // Made once for the block: a private CA, a certificate it issued for localhost, another CA, and a certificate of the
    // private CA for another host name.
    let ca: PrivateCa;
    let otherCa: PrivateCa;

    before(() => {
      ca = createPrivateCa("Readiness Test Root CA");
      otherCa = createPrivateCa("Some Other CA");
    });

    /** An https Identity Service on 127.0.0.1 serving `certificate`: discovery with the URL's issuer, and tokens. */
    async function httpsService(certificate: IssuedCertificate): Promise<{ port: number; requests: SeenRequest[] }> {
      const requests: SeenRequest[] = [];
      const server = https.createServer({ cert: certificate.certificatePem, key: certificate.keyPem }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          const seen = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
          requests.push(seen);
          if (seen.method === "GET" && seen.path === "/.well-known/openid-configuration") {
            const issuer = `https://${req.headers.host}`;
            return sendJson(res, 200, { issuer, token_endpoint: `${issuer}/connect/token` });
          }
          if (seen.method === "POST" && seen.path === "/connect/token") return answerToken(seen, res);
          sendJson(res, 404, { error: "not_found" });
        });
      });
      openServers.push(server);
      const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
      return { port, requests };
    }

    it("fails on a certificate of a private CA without READINESS_CA_CERTIFICATE, naming readiness.caCertificate", async () => {
      const { port, requests } = await httpsService(ca.issue(["localhost", "127.0.0.1"]));

      const result = await runScript(gateEnv(`https://localhost:${port}`, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /TLS error: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
      assert.match(result.stderr, /issued by a CA this machine does not trust \(a private CA, or self-signed\): give that CA's certificate \(PEM\) as readiness\.caCertificate/);
      assert.match(result.stderr, /never skips this check/);
      assert.equal(requests.length, 0, "no request got through an unverified connection");
    });

    it("passes with the private CA in READINESS_CA_CERTIFICATE: discovery, issuer and a token over https", async () => {
      const { port, requests } = await httpsService(ca.issue(["localhost", "127.0.0.1"]));

      const result = await runScript(gateEnv(`https://localhost:${port}`, { READINESS_CA_CERTIFICATE: ca.certificatePem }));

      assert.equal(result.code, 0, result.stderr);
      const output = JSON.parse(result.stdout);
      assert.equal(output.issuer, `https://localhost:${port}`);
      assert.equal(output.tokenVerified, true);
      assert.ok(requests.some((request) => request.method === "POST" && request.body.includes("grant_type=client_credentials")));
    });

    it("still trusts Node's roots next to the private CA, and checks an IP address against the certificate's IP names", async () => {
      const { port } = await httpsService(ca.issue(["localhost", "127.0.0.1"]));
      // Another CA first: a bundle of several CAs in one value.
      const bundle = `${otherCa.certificatePem}${ca.certificatePem}`;

      const result = await runScript(gateEnv(`https://127.0.0.1:${port}`, { READINESS_CA_CERTIFICATE: bundle, READINESS_VERIFY_TOKEN: "false" }));

      assert.equal(result.code, 0, result.stderr);
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the script is plain CommonJS without types
      const trusted: string[] = require(scriptPath).trustedCertificates([ca.certificatePem], {});
      assert.equal(trusted.length, tls.rootCertificates.length + 1);
      assert.deepEqual(trusted.slice(0, -1), [...tls.rootCertificates]);
    });

    it("fails when READINESS_CA_CERTIFICATE is another CA than the issuer, saying so", async () => {
      const { port } = await httpsService(ca.issue(["localhost"]));

      const result = await runScript(gateEnv(`https://localhost:${port}`, { READINESS_CA_CERTIFICATE: otherCa.certificatePem, READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /TLS error: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
      assert.match(result.stderr, /was not issued by readiness\.caCertificate nor by a CA Node trusts: give readiness\.caCertificate the CA that issued it/);
    });

    it("still checks the host name with the right CA: a certificate for another host fails, naming the host and the fix", async () => {
      const { port } = await httpsService(ca.issue(["ids.example.com"]));

      const result = await runScript(gateEnv(`https://localhost:${port}`, { READINESS_CA_CERTIFICATE: ca.certificatePem, READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /TLS error: ERR_TLS_CERT_ALTNAME_INVALID/);
      assert.match(result.stderr, /The certificate is not for the host name localhost the gate reaches the service at: serve a certificate whose subject alternative names include localhost, or set the target's hostname/);
    });

    it("never skips verification, not even under NODE_TLS_REJECT_UNAUTHORIZED=0", async () => {
      const { port, requests } = await httpsService(ca.issue(["localhost"]));

      const result = await runScript(gateEnv(`https://localhost:${port}`, { NODE_TLS_REJECT_UNAUTHORIZED: "0", READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
      assert.equal(requests.length, 0);
    });

    it("reports a redirect, which it does not follow, with the address to give instead", async () => {
      const server = await startServer((_request, response) => {
        response.writeHead(307, { location: "https://localhost:8443/.well-known/openid-configuration" });
        response.end();
      });

      const result = await runScript(gateEnv(server.url, { READINESS_TIMEOUT_SECONDS: "1" }));

      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /last seen: HTTP 307 Temporary Redirect to https:\/\/localhost:8443\/\.well-known\/openid-configuration\. The service redirects this request/);
      assert.equal(server.requests.length > 0 && server.requests.every((request) => request.path === "/.well-known/openid-configuration"), true, "nothing followed");
    });
  });

  describe("bad configuration exits 2 naming the variable", () => {
    const badConfigurations: { title: string; env: Record<string, string>; stdin?: string; expected: RegExp }[] = [
      { title: "missing IDENTITY_SERVICE_URL", env: { IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID }, expected: /IDENTITY_SERVICE_URL is not set.*http:\/\/localhost:8090/ },
      { title: "IDENTITY_SERVICE_URL not a URL", env: { IDENTITY_SERVICE_URL: "localhost:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID }, expected: /IDENTITY_SERVICE_URL is not an http\(s\) URL/ },
      { title: "non-numeric READINESS_TIMEOUT_SECONDS", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID, READINESS_TIMEOUT_SECONDS: "five" }, expected: /READINESS_TIMEOUT_SECONDS must be a positive number \(got "five"\)/ },
      { title: "non-numeric READINESS_POLL_INTERVAL_MS", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID, READINESS_POLL_INTERVAL_MS: "fast" }, expected: /READINESS_POLL_INTERVAL_MS must be a positive number/ },
      { title: "IDENTITY_SERVICE_PUBLIC_URL not a URL", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID, IDENTITY_SERVICE_PUBLIC_URL: "ids.example.com" }, expected: /IDENTITY_SERVICE_PUBLIC_URL is not an http\(s\) URL \(got "ids\.example\.com"\)/ },
      { title: "READINESS_VERIFY_ISSUER neither true nor false", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID, READINESS_VERIFY_ISSUER: "yes" }, expected: /READINESS_VERIFY_ISSUER must be "true" or "false"/ },
      { title: "READINESS_VERIFY_TOKEN neither true nor false", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID, READINESS_VERIFY_TOKEN: "yes" }, expected: /READINESS_VERIFY_TOKEN must be "true" or "false"/ },
      { title: "missing IDENTITY_SERVICE_CLIENT_ID with token verification on", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090" }, expected: /IDENTITY_SERVICE_CLIENT_ID is not set.*READINESS_VERIFY_TOKEN=false/ },
      { title: "invalid JSON on stdin (not echoed)", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID }, stdin: `{"clientSecret": ${SECRET}`, expected: /standard input is not valid JSON.*clientSecret/ },
      { title: "missing clientSecret on stdin with token verification on", env: { IDENTITY_SERVICE_URL: "http://127.0.0.1:8090", IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID }, stdin: "{}", expected: /clientSecret is missing on standard input/ },
      { title: "READINESS_CA_CERTIFICATE not PEM", env: { IDENTITY_SERVICE_URL: "https://127.0.0.1:8443", READINESS_VERIFY_TOKEN: "false", READINESS_CA_CERTIFICATE: "/etc/ssl/ca.pem" }, expected: /READINESS_CA_CERTIFICATE is not a PEM certificate: set it to the CA certificate's text.*\(readiness\.caCertificate\)/ },
      { title: "READINESS_CA_CERTIFICATE unreadable", env: { IDENTITY_SERVICE_URL: "https://127.0.0.1:8443", READINESS_VERIFY_TOKEN: "false", READINESS_CA_CERTIFICATE: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----" }, expected: /READINESS_CA_CERTIFICATE holds a certificate that cannot be read \(.+\): give the CA certificate as PEM/ },
    ];

    for (const { title, env, stdin, expected } of badConfigurations) {
      it(title, async () => {
        const result = await runScript(env, stdin);

        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, "");
        assert.match(result.stderr, expected);
      });
    }
  });

  describe("as a module", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the script is plain CommonJS without types
    const readiness = require(scriptPath);

    function fakeClock() {
      let now = 0;
      return { now: () => now, sleep: async (ms: number) => void (now += ms), advanceTo: (ms: number) => void (now = ms) };
    }

    it("can be required without running, and polls on the injected clock until the deadline", async () => {
      const clock = fakeClock();
      let calls = 0;
      const fakeFetch = async () => {
        calls++;
        return new Response("", { status: 503, statusText: "Service Unavailable" });
      };

      await assert.rejects(
        readiness.waitForReady({ url: "http://svc:8090", verifyToken: false, timeoutMs: 1000, pollIntervalMs: 200, clock, fetch: fakeFetch }),
        (error: { name: string; lastSeen: { phase: string; status: number }; message: string }) => {
          assert.equal(error.name, "ReadinessTimeoutError");
          assert.equal(error.lastSeen.phase, "discovery");
          assert.equal(error.lastSeen.status, 503);
          assert.match(error.message, /http:\/\/svc:8090 was not ready after 1 s.*HTTP 503 Service Unavailable/);
          return true;
        },
      );
      assert.equal(calls, 5, "attempts at 0, 200, 400, 600 and 800 ms");
    });

    it("reports the elapsed time on the injected clock once the service answers", async () => {
      const clock = fakeClock();
      let discoveryCalls = 0;
      const fakeFetch = async (_url: string, init: { method: string }) => {
        if (init.method === "POST") return Response.json({ access_token: "t" });
        discoveryCalls++;
        return discoveryCalls < 3 ? new Response("", { status: 503 }) : Response.json({ issuer: "http://svc:8090" });
      };

      const result = await readiness.waitForReady({
        url: "http://svc:8090",
        clientId: CLIENT_ID,
        clientSecret: SECRET,
        timeoutMs: 10_000,
        pollIntervalMs: 200,
        clock,
        fetch: fakeFetch,
      });

      assert.deepEqual(result, { issuer: "http://svc:8090", issuerVerified: true, tokenVerified: true, elapsedMs: 400 });
    });

    it("keeps the last real answer when the final attempt is only cut short by the deadline", async () => {
      const clock = fakeClock();
      let tokenCalls = 0;
      const fakeFetch = async (_url: string, init: { method: string }) => {
        if (init.method !== "POST") return Response.json({ issuer: "http://svc:8090" });
        tokenCalls++;
        if (tokenCalls === 1) return Response.json({ error: "invalid_client" }, { status: 400 });
        clock.advanceTo(1000); // the second attempt hangs until the deadline aborts it
        throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
      };

      await assert.rejects(
        readiness.waitForReady({
          url: "http://svc:8090",
          clientId: CLIENT_ID,
          clientSecret: SECRET,
          timeoutMs: 1000,
          pollIntervalMs: 200,
          clock,
          fetch: fakeFetch,
        }),
        (error: { lastSeen: { phase: string; status: number; oauthError: string }; message: string }) => {
          assert.equal(error.lastSeen.phase, "token");
          assert.equal(error.lastSeen.status, 400);
          assert.equal(error.lastSeen.oauthError, "invalid_client");
          assert.match(error.message, /delete the client's rows/);
          assert.ok(!error.message.includes(SECRET));
          return true;
        },
      );
      assert.equal(tokenCalls, 2);
    });
  });
});
