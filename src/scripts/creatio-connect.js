#!/usr/bin/env node
/*
 * Connects a Creatio instance to its Identity Service through Creatio's REST API, then asks Creatio's own health
 * check whether the connection works.
 *
 * Run as `node creatio-connect.js apply` (connect) or `node creatio-connect.js clear` (empty the three settings).
 * Exit codes:
 *   0  done: prints one JSON line, e.g. {"steps":["settings","healthCheck"],"healthCheck":{"checked":true,...}}
 *   1  Creatio refused or failed a step: one paragraph on stderr saying which step, what Creatio answered, what to do
 *   2  bad configuration: one line on stderr naming the variable and the fix
 *
 * Environment (no secrets):
 *   CREATIO_URL                 base URL without /0, e.g. https://creatio.example.com (required)
 *   CREATIO_USERNAME            an administrator (required)
 *   CREATIO_ROUTE_PREFIX        "/0" for Creatio on .NET Framework, "" for Creatio on .NET (required, may be empty)
 *   CREATIO_STEPS               comma list of settings, feature, defaultResource, healthCheck (apply only)
 *   CREATIO_FEATURE_NAME_ENCODING  how the version reads the feature name of the cache call: "base64" (8.2 and later,
 *                               as clio sends it) or "plain" (up to 8.1); default "base64"
 *   CREATIO_RUNTIME, CREATIO_VERSION  named in messages only
 *   IDENTITY_SERVICE_URL        the value of OAuth20IdentityServerUrl (apply)
 *   IDENTITY_SERVICE_CLIENT_ID  the value of OAuth20IdentityServerClientId (apply)
 *   CREATIO_TLS_VERIFY          "true" (default) or "false"
 *   CREATIO_CA_CERTIFICATE      PEM text of an extra certificate authority to trust for Creatio
 *   CREATIO_TIMEOUT_SECONDS     overall deadline, default 120
 * Standard input: JSON {"password": "...", "clientSecret": "..."}. Secrets never reach the command line, stdout,
 * or a message: every message is scrubbed of both values before it is printed.
 *
 * The requests, in order (facts from Creatio's documentation and public clients):
 *   login      POST {url}/ServiceModel/AuthService.svc/Login (never under /0); HTTP 200 with Code != 0 is a failure;
 *              every Set-Cookie is kept; the BPMCSRF cookie goes back as the BPMCSRF header.
 *   settings   POST {url}{prefix}/DataService/json/SyncReply/PostSysSettingsValues; saveResult[code] must be true
 *              for each code; then QuerySysSettings reads the URL and client id back (the secure-text secret cannot
 *              be read back).
 *   feature    POST {prefix}/rest/FeatureService/SetFeatureStateForAllUsers {"code":"OAuth20Integration","state":1},
 *              then GET {prefix}/rest/FeatureService/ClearFeaturesCacheForAllUsers/{name}, the name as the version
 *              reads it (a failed clear is a warning: the state is saved and takes effect later).
 *   defaultResource  POST {prefix}/rest/OAuthConfigService/AddDefaultResource {}; Creatio registers the resource with
 *              the Identity Service using the system client; "already exists" is success.
 *   healthCheck GET {prefix}/api/OAuthHealthCheck; HTTP 500 with HasProblem is a result: its Message (and from 8.2
 *              IsDefaultResourceRegistered) is mapped to what to do. A problem is checked up to 3 times, 1.5 s apart
 *              (caches may lag behind the write).
 * A 401 (or an HTML login page) after login means the session ended: log in once more and repeat the request.
 * Connection failures and HTTP 502/503/504 (a starting Creatio) are retried with backoff until the deadline;
 * each request is bounded by min(30 s, time left).
 *
 * Node 20 built-ins only. `require` it to use its pure functions; it only runs main() when started directly.
 */
"use strict";

const http = require("http");
const https = require("https");
const tls = require("tls");

const EXIT_DONE = 0;
const EXIT_FAILED = 1;
const EXIT_BAD_CONFIG = 2;

const DEFAULT_TIMEOUT_SECONDS = 120;
const MAX_REQUEST_MS = 30000;
const MAX_DETAIL_CHARS = 300;
const RETRY_STATUSES = new Set([502, 503, 504]);
/** A problem the health check reports right after the settings were written may be a cache still catching up. */
const HEALTH_CHECK_ATTEMPTS = 3;
const HEALTH_CHECK_PAUSE_MS = 1500;

const SETTING_CODES = {
  url: "OAuth20IdentityServerUrl",
  clientId: "OAuth20IdentityServerClientId",
  clientSecret: "OAuth20IdentityServerClientSecret",
};
const FEATURE_CODE = "OAuth20Integration";
const STEPS = ["settings", "feature", "defaultResource", "healthCheck"];

class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A step failed; the message says what Creatio answered and what to do. */
class StepError extends Error {
  constructor(step, message) {
    super(`${step}: ${message}`);
    this.name = "StepError";
    this.step = step;
  }
}

// ---------------------------------------------------------------------------
// Configuration

function readConfig(env, action) {
  if (action !== "apply" && action !== "clear") {
    throw new ConfigError(`the first argument must be "apply" or "clear" (got ${JSON.stringify(action)})`);
  }
  const required = name => {
    const value = env[name];
    if (value === undefined || value.trim() === "") throw new ConfigError(`${name} is not set; it is required`);
    return value.trim();
  };
  const creatioUrl = required("CREATIO_URL").replace(/\/+$/, "");
  try {
    const parsed = new URL(creatioUrl);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
  } catch {
    throw new ConfigError(`CREATIO_URL ${JSON.stringify(creatioUrl)} is not an http(s) URL`);
  }
  const prefix = env.CREATIO_ROUTE_PREFIX;
  if (prefix !== "/0" && prefix !== "") {
    throw new ConfigError(`CREATIO_ROUTE_PREFIX must be "/0" (.NET Framework) or empty (.NET) (got ${JSON.stringify(prefix)})`);
  }
  const steps = action === "apply" ? (env.CREATIO_STEPS ?? "settings").split(",").map(s => s.trim()).filter(Boolean) : [];
  const unknown = steps.filter(step => !STEPS.includes(step));
  if (unknown.length > 0) throw new ConfigError(`CREATIO_STEPS has unknown steps ${unknown.join(", ")}; known: ${STEPS.join(", ")}`);
  const timeoutSeconds = Number(env.CREATIO_TIMEOUT_SECONDS ?? DEFAULT_TIMEOUT_SECONDS);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new ConfigError(`CREATIO_TIMEOUT_SECONDS must be a positive number (got ${JSON.stringify(env.CREATIO_TIMEOUT_SECONDS)})`);
  }
  const featureNameEncoding = (env.CREATIO_FEATURE_NAME_ENCODING ?? "base64").trim();
  if (featureNameEncoding !== "base64" && featureNameEncoding !== "plain") {
    throw new ConfigError(`CREATIO_FEATURE_NAME_ENCODING must be "base64" or "plain" (got ${JSON.stringify(env.CREATIO_FEATURE_NAME_ENCODING)})`);
  }
  const verify = (env.CREATIO_TLS_VERIFY ?? "true").trim().toLowerCase();
  if (verify !== "true" && verify !== "false") throw new ConfigError(`CREATIO_TLS_VERIFY must be "true" or "false"`);
  return {
    action,
    creatioUrl,
    prefix,
    username: required("CREATIO_USERNAME"),
    runtime: env.CREATIO_RUNTIME ?? (prefix === "/0" ? "netFramework" : "net"),
    version: env.CREATIO_VERSION ?? "",
    steps,
    featureNameEncoding,
    identityServiceUrl: action === "apply" ? required("IDENTITY_SERVICE_URL").replace(/\/+$/, "") : "",
    clientId: action === "apply" ? required("IDENTITY_SERVICE_CLIENT_ID") : "",
    tlsVerify: verify === "true",
    caCertificate: env.CREATIO_CA_CERTIFICATE && env.CREATIO_CA_CERTIFICATE.trim() !== "" ? env.CREATIO_CA_CERTIFICATE : undefined,
    timeoutMs: timeoutSeconds * 1000,
  };
}

function readSecrets(text, action) {
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('standard input must be JSON {"password": "...", "clientSecret": "..."}');
  }
  const password = parsed && typeof parsed.password === "string" ? parsed.password : "";
  const clientSecret = parsed && typeof parsed.clientSecret === "string" ? parsed.clientSecret : "";
  if (password === "") throw new ConfigError("standard input has no password");
  if (action === "apply" && clientSecret === "") throw new ConfigError("standard input has no clientSecret");
  return { password, clientSecret };
}

// ---------------------------------------------------------------------------
// Pure rules

/**
 * Creatio's health check messages (documented with HTTP 500 and HasProblem: true), each with what to do.
 * Matched by their distinctive parts, so a changed wording of the rest still maps.
 */
const HEALTH_CHECK_PROBLEMS = [
  {
    pattern: /OAuth20IdentityServerUrl, OAuth20IdentityServerClientId, OAuth20IdentityServerClientSecret are empty/i,
    advice: "Creatio sees none of the three settings although they were just saved: another Creatio node or a stale cache may have answered; clear Creatio's cache (or restart it) and run again",
  },
  {
    pattern: /System setting (\w+) is empty/i,
    advice: "Creatio sees an empty setting although it was just saved: check that the user may change system settings for all users, then run again",
  },
  {
    pattern: /IdentityService specified in system setting OAuth20IdentityServerUrl is unavailable/i,
    advice: "the Identity Service URL is not reachable from the Creatio host: give the URL Creatio's server can reach (not localhost unless both run on one machine), and check firewalls, DNS and the service itself",
  },
  {
    pattern: /Can't retrieve access_token/i,
    advice: "the Identity Service refused the client: the client id or secret does not match a client in the service's Clients (for example after a rotation that did not reach the service); redeploy the service with this client, or check its Clients setting",
  },
];

/** What to do when the only problem is the default OAuth resource (Creatio 8.2 and later report it). */
const NO_DEFAULT_RESOURCE_ADVICE =
  "the default OAuth resource is not registered: Creatio registers it with the Identity Service using the system client when " +
  "AddDefaultResource runs (the connection calls it, and so does Creatio's OAuth maintenance process, hourly in 8.2 and only by hand from 8.3); " +
  "check the defaultResource step's result, or open OAuth 2.0 integrated applications and use Actions, Create default resource";

/**
 * Reads a health check answer. Returns {result} when the connection works, {problem} with advice otherwise.
 */
function interpretHealthCheck(status, body) {
  if (body === null || typeof body !== "object" || typeof body.HasProblem !== "boolean") {
    return { problem: `Creatio answered HTTP ${status} without a health check result` + detailOf(body) + "; check the Creatio URL and version" };
  }
  const result = {
    checked: true,
    hasProblem: body.HasProblem,
    isSystemSettingsFilledIn: body.IsSystemSettingsFilledIn === true,
    isIdentityServiceAvailable: body.IsIdentityServiceAvailable === true,
    isAccessTokenRetrievableForSystemActions: body.IsAccessTokenRetrievableForSystemActions === true,
    // Reported from 8.2 only.
    ...(typeof body.IsDefaultResourceRegistered === "boolean" ? { isDefaultResourceRegistered: body.IsDefaultResourceRegistered } : {}),
  };
  if (!body.HasProblem && status >= 200 && status < 300) return { result };
  const message = typeof body.Message === "string" ? body.Message : "";
  const onlyDefaultResource =
    result.isDefaultResourceRegistered === false &&
    result.isSystemSettingsFilledIn &&
    result.isIdentityServiceAvailable &&
    result.isAccessTokenRetrievableForSystemActions;
  const known = HEALTH_CHECK_PROBLEMS.find(entry => entry.pattern.test(message));
  const advice = onlyDefaultResource ? NO_DEFAULT_RESOURCE_ADVICE : known ? known.advice : "see Creatio's OAuth 2.0 Diagnostic tab for details";
  return { result, problem: `Creatio reports a problem: "${truncate(message || "(no message)")}"; ${advice}` };
}

/**
 * What to do when AddDefaultResource fails, from the OAuth20 package's messages: Creatio registers the resource with
 * the Identity Service using the system client (CreatioDemoProject Src/BaseOAuthApiCaller.OAuth20.cs:76-106 and
 * OAuth20.gz Resources/*.resource.en-US.xml @ 32efb577).
 */
const DEFAULT_RESOURCE_PROBLEMS = [
  {
    pattern: /Unable to connect to OAuth server/i,
    advice: "Creatio cannot reach the Identity Service at its OAuth20IdentityServerUrl from where it runs: give the URL Creatio's server reaches (publicUrl), and check firewalls, DNS and the service itself",
  },
  {
    pattern: /Unable to register resource/i,
    advice: "the Identity Service refused Creatio's token request for register_own_resource IdentityServerApi with the system client: check that the client id and secret match the service's client and that the client is allowed that scope",
  },
  {
    pattern: /OAuth.*(disabled|not enabled)|EnableOAuth20Integration/i,
    advice: "OAuth is turned off in Creatio's configuration (Feature-EnableOAuth20Integration)",
  },
];

/** Whether AddDefaultResource's answer means success (a default resource that already exists counts). */
function defaultResourceOutcome(body) {
  const result = body && typeof body === "object" ? body.AddDefaultResourceResult ?? body : undefined;
  if (!result || typeof result !== "object" || typeof result.success !== "boolean") {
    return { ok: false, detail: "no AddDefaultResourceResult in the answer" + detailOf(body) };
  }
  if (result.success) return { ok: true, created: true };
  const info = result.errorInfo && typeof result.errorInfo === "object" ? result.errorInfo : {};
  const text = [info.errorCode, info.message, result.exception && JSON.stringify(result.exception)].filter(Boolean).join(" ");
  if (/already ?exist/i.test(text)) return { ok: true, created: false };
  return { ok: false, detail: truncate(text || "success: false") };
}

/**
 * The feature name of the cache call as the version reads it: the base64 of its UTF-8 bytes from 8.2, as clio sends it
 * (Advance-Technologies-Foundation/clio clio/Command/FeatureStateService.cs:111-117 @ 28d8fb26), the code as it is before.
 */
function featureCacheName(code, encoding) {
  return encoding === "base64" ? Buffer.from(code, "utf8").toString("base64") : code;
}

/** Which codes PostSysSettingsValues did not save, from its answer. */
function unsavedSettings(body, codes) {
  const saveResult = body && typeof body === "object" && body.saveResult && typeof body.saveResult === "object" ? body.saveResult : {};
  return codes.filter(code => saveResult[code] !== true);
}

function detailOf(body) {
  if (body === undefined || body === null || body === "") return "";
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return `: ${truncate(text.replace(/\s+/g, " "))}`;
}

/** The secrets of this run, once read: server text is scrubbed of them before it is cut (a cut could hide a part). */
const secretsToScrub = [];

function truncate(text) {
  const scrubbed = scrub(text, secretsToScrub);
  return scrubbed.length > MAX_DETAIL_CHARS ? scrubbed.slice(0, MAX_DETAIL_CHARS) + "…" : scrubbed;
}

/**
 * The ways a secret can come back in server text: as is, JSON-escaped once or twice (a request body echoed inside
 * a JSON answer), URL- or form-encoded; longest first.
 */
function secretForms(secret) {
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = [secret, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)];
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/**
 * Removes every secret, in every form, from a text before it is printed. The command provider repeats a failed
 * command's whole output in its error message, whatever `logging` says.
 */
function scrub(text, secrets) {
  let out = String(text);
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of secretForms(secret)) out = out.split(form).join("***");
  }
  return out;
}

// ---------------------------------------------------------------------------
// HTTP with a cookie jar

/** Cookies by name, filled from every Set-Cookie (BPMSESSIONID may arrive only after login). */
class CookieJar {
  constructor() {
    this.cookies = new Map();
  }
  store(setCookieHeaders) {
    for (const header of setCookieHeaders ?? []) {
      const pair = header.split(";", 1)[0];
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
  get(name) {
    return this.cookies.get(name);
  }
  clear() {
    this.cookies.clear();
  }
}

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

class CreatioClient {
  constructor(config, secrets) {
    this.config = config;
    this.secrets = secrets;
    this.jar = new CookieJar();
    this.deadline = Date.now() + config.timeoutMs;
    this.agentOptions = { rejectUnauthorized: config.tlsVerify };
    if (config.caCertificate) this.agentOptions.ca = [...tls.rootCertificates, config.caCertificate];
  }

  timeLeft() {
    return this.deadline - Date.now();
  }

  /** One HTTP exchange, with retries of connection failures and 502/503/504 until the deadline. */
  async send(method, path, body, step) {
    const url = new URL(this.config.creatioUrl + path);
    let lastProblem = "";
    for (let attempt = 0; ; attempt++) {
      const left = this.timeLeft();
      if (left <= 0) {
        throw new StepError(step, `no usable answer from ${url.origin}${url.pathname} within the time limit (${this.config.timeoutMs / 1000} s): ${lastProblem}; check that Creatio runs and the URL is right`);
      }
      try {
        const response = await this.exchange(url, method, body, Math.min(MAX_REQUEST_MS, left));
        this.jar.store(response.setCookie);
        if (!RETRY_STATUSES.has(response.status)) return response;
        lastProblem = `HTTP ${response.status}`;
      } catch (err) {
        lastProblem = describeTransportError(err);
        if (err && err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(err.code)) {
          throw new StepError(step, `Creatio's TLS certificate is not trusted (${lastProblem}); give its authority in tls.caCertificate, or turn tls.verify off for a test instance`);
        }
      }
      await sleep(Math.min(250 * 2 ** Math.min(attempt, 4), Math.max(0, this.timeLeft())));
    }
  }

  exchange(url, method, body, timeoutMs) {
    const transport = url.protocol === "https:" ? https : http;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
    const headers = {
      Accept: "application/json",
      ForceUseSession: "true",
    };
    if (payload) {
      headers["Content-Type"] = "application/json; charset=utf-8";
      headers["Content-Length"] = String(payload.length);
    }
    const cookie = this.jar.header();
    if (cookie) headers.Cookie = cookie;
    const csrf = this.jar.get("BPMCSRF");
    if (csrf) headers.BPMCSRF = csrf;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        url,
        { method, headers, timeout: timeoutMs, ...(url.protocol === "https:" ? this.agentOptions : {}) },
        response => {
          const chunks = [];
          response.on("data", chunk => chunks.push(chunk));
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json;
            try {
              json = text === "" ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: response.statusCode, text, json, setCookie: response.headers["set-cookie"] ?? [], contentType: String(response.headers["content-type"] ?? "") });
          });
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`), { code: "ETIMEDOUT" })));
      request.on("error", reject);
      request.end(payload);
    });
  }

  async login() {
    this.jar.clear();
    const step = "login";
    const response = await this.send("POST", "/ServiceModel/AuthService.svc/Login", { UserName: this.config.username, UserPassword: this.secrets.password }, step);
    if (response.status !== 200 || !response.json || typeof response.json.Code !== "number") {
      throw new StepError(
        step,
        `${this.config.creatioUrl}/ServiceModel/AuthService.svc/Login answered HTTP ${response.status}` +
          (response.json ? detailOf(response.json) : " without a login result") +
          "; check that creatio.url is Creatio's base URL (without /0)",
      );
    }
    const result = response.json;
    if (result.Code !== 0) {
      const reason = typeof result.Message === "string" && result.Message !== "" ? ` ("${truncate(result.Message)}")` : "";
      throw new StepError(step, `Creatio refused the login of user "${this.config.username}" (Code ${result.Code})${reason}; check the Creatio username and password`);
    }
    if (result.PasswordChangeUrl) {
      throw new StepError(step, `Creatio asks user "${this.config.username}" to change the password first; log in once in the browser, change it, and update the password`);
    }
    if (!this.jar.get("BPMCSRF")) {
      throw new StepError(step, "Creatio accepted the login but set no BPMCSRF cookie; check that the URL points at Creatio itself, not at a proxy that drops cookies");
    }
  }

  /** An application request; a 401 or a login page means the session ended: log in once and repeat. */
  async call(method, route, body, step) {
    const path = this.config.prefix + route;
    let response = await this.send(method, path, body, step);
    if (sessionEnded(response)) {
      await this.login();
      response = await this.send(method, path, body, step);
    }
    if (sessionEnded(response)) {
      throw new StepError(step, `Creatio answered HTTP ${response.status} to ${path} right after a fresh login: the user may lack the rights, or the CSRF check failed behind a proxy`);
    }
    return response;
  }
}

function sessionEnded(response) {
  return response.status === 401 || (response.status === 200 && /text\/html/i.test(response.contentType) && /login/i.test(response.text));
}

function describeTransportError(err) {
  const cause = err && err.cause ? err.cause : err;
  return (cause && (cause.code || cause.message)) || String(err);
}

function routeNotFound(step, response, path, config, what) {
  return new StepError(
    step,
    `Creatio answered HTTP ${response.status} to ${config.prefix}${path}` +
      detailOf(response.json ?? response.text.slice(0, 120)) +
      `; ${what} (runtime ${config.runtime}: routes ${config.prefix === "/0" ? "under /0/" : "without /0"}, version ${config.version || "not given"}); check the runtime and version`,
  );
}

// ---------------------------------------------------------------------------
// Steps

async function writeSettings(client, values, step) {
  const codes = Object.keys(values);
  const route = "/DataService/json/SyncReply/PostSysSettingsValues";
  const response = await client.call("POST", route, { isPersonal: false, sysSettingsValues: values }, step);
  if (response.status !== 200) throw routeNotFound(step, response, route, client.config, "the settings were not saved");
  const unsaved = unsavedSettings(response.json, codes);
  if (unsaved.length > 0) {
    const status = response.json && response.json.responseStatus && response.json.responseStatus.Message;
    throw new StepError(
      step,
      `Creatio did not save ${unsaved.join(", ")}` +
        (status ? ` ("${truncate(String(status))}")` : "") +
        `; check that user "${client.config.username}" may change system settings (System administrators)`,
    );
  }
}

async function readBackSettings(client, expected, step) {
  const route = "/DataService/json/SyncReply/QuerySysSettings";
  const codes = Object.keys(expected);
  const response = await client.call("POST", route, { sysSettingsNameCollection: codes }, step);
  if (response.status !== 200 || !response.json || typeof response.json.values !== "object" || response.json.values === null) {
    throw routeNotFound(step, response, route, client.config, "the settings could not be read back");
  }
  for (const code of codes) {
    const entry = response.json.values[code];
    const value = entry && typeof entry === "object" ? entry.value : undefined;
    if (value !== expected[code]) {
      throw new StepError(step, `Creatio saved ${code} but reads back ${JSON.stringify(value)} instead of ${JSON.stringify(expected[code])}; another process may be changing it`);
    }
  }
}

async function enableFeature(client, step) {
  const set = "/rest/FeatureService/SetFeatureStateForAllUsers";
  const response = await client.call("POST", set, { code: FEATURE_CODE, state: 1 }, step);
  if (response.status < 200 || response.status >= 300) throw routeNotFound(step, response, set, client.config, `feature ${FEATURE_CODE} was not turned on`);
  const clear = `/rest/FeatureService/ClearFeaturesCacheForAllUsers/${featureCacheName(FEATURE_CODE, client.config.featureNameEncoding)}`;
  const cleared = await client.call("GET", clear, undefined, step);
  if (cleared.status < 200 || cleared.status >= 300) {
    return `feature ${FEATURE_CODE} is on, but Creatio did not clear its feature cache (HTTP ${cleared.status}); it takes effect once the cache refreshes`;
  }
  return undefined;
}

async function addDefaultResource(client, step) {
  const route = "/rest/OAuthConfigService/AddDefaultResource";
  const response = await client.call("POST", route, {}, step);
  if (response.status !== 200) throw routeNotFound(step, response, route, client.config, "the default resource was not created");
  const outcome = defaultResourceOutcome(response.json);
  if (!outcome.ok) {
    const known = DEFAULT_RESOURCE_PROBLEMS.find(entry => entry.pattern.test(outcome.detail));
    const advice = known ? known.advice : "check that OAuth is enabled in Creatio's configuration (Feature-EnableOAuth20Integration) and that Creatio reaches the Identity Service";
    throw new StepError(step, `Creatio did not create the default OAuth resource (${outcome.detail}); ${advice}`);
  }
  return outcome.created;
}

async function healthCheck(client, step) {
  const route = "/api/OAuthHealthCheck";
  for (let attempt = 1; ; attempt++) {
    const response = await client.call("GET", route, undefined, step);
    if (response.status === 404) throw routeNotFound(step, response, route, client.config, "the health check does not exist there");
    const { result, problem } = interpretHealthCheck(response.status, response.json);
    if (!problem) return result;
    if (attempt >= HEALTH_CHECK_ATTEMPTS || client.timeLeft() < HEALTH_CHECK_PAUSE_MS) {
      throw new StepError(step, attempt > 1 ? `${problem} (the same after ${attempt} checks)` : problem);
    }
    await sleep(HEALTH_CHECK_PAUSE_MS);
  }
}

async function apply(config, secrets) {
  const client = new CreatioClient(config, secrets);
  const warnings = [];
  const report = { steps: [], healthCheck: { checked: false } };
  await client.login();
  for (const step of config.steps) {
    if (step === "settings") {
      await writeSettings(client, { [SETTING_CODES.url]: config.identityServiceUrl, [SETTING_CODES.clientId]: config.clientId, [SETTING_CODES.clientSecret]: secrets.clientSecret }, step);
      await readBackSettings(client, { [SETTING_CODES.url]: config.identityServiceUrl, [SETTING_CODES.clientId]: config.clientId }, step);
    } else if (step === "feature") {
      const warning = await enableFeature(client, step);
      if (warning) warnings.push(warning);
    } else if (step === "defaultResource") {
      report.defaultResourceCreated = await addDefaultResource(client, step);
    } else if (step === "healthCheck") {
      report.healthCheck = await healthCheck(client, step);
    }
    report.steps.push(step);
  }
  return { report, warnings };
}

async function clear(config, secrets) {
  const client = new CreatioClient(config, secrets);
  await client.login();
  await writeSettings(client, { [SETTING_CODES.url]: "", [SETTING_CODES.clientId]: "", [SETTING_CODES.clientSecret]: "" }, "clear");
  return { report: { cleared: Object.values(SETTING_CODES) }, warnings: [] };
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", chunk => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

async function main() {
  let secrets = { password: "", clientSecret: "" };
  try {
    const config = readConfig(process.env, process.argv[2]);
    secrets = readSecrets(await readStdin(), config.action);
    secretsToScrub.push(secrets.password, secrets.clientSecret);
    const { report, warnings } = await (config.action === "apply" ? apply(config, secrets) : clear(config, secrets));
    for (const warning of warnings) process.stderr.write(scrub(`warning: ${warning}`, [secrets.password, secrets.clientSecret]) + "\n");
    process.stdout.write(scrub(JSON.stringify(report), [secrets.password, secrets.clientSecret]) + "\n");
    return EXIT_DONE;
  } catch (err) {
    const where = process.env.CREATIO_URL ? ` (Creatio ${process.env.CREATIO_URL})` : "";
    const text = err instanceof ConfigError ? `bad configuration: ${err.message}` : err instanceof StepError ? `connecting Creatio failed at ${err.message}${where}` : `connecting Creatio failed${where}: ${err && err.message}`;
    process.stderr.write(scrub(text, [secrets.password, secrets.clientSecret]) + "\n");
    return err instanceof ConfigError ? EXIT_BAD_CONFIG : EXIT_FAILED;
  }
}

module.exports = {
  readConfig,
  readSecrets,
  interpretHealthCheck,
  defaultResourceOutcome,
  featureCacheName,
  DEFAULT_RESOURCE_PROBLEMS,
  unsavedSettings,
  scrub,
  CookieJar,
  HEALTH_CHECK_PROBLEMS,
  SETTING_CODES,
};

if (require.main === module) {
  main().then(code => {
    process.exitCode = code;
  });
}
