#!/usr/bin/env node
/*
 * Readiness gate for a freshly deployed Creatio Identity Service.
 *
 * Run as `node readiness.js`. It waits until the service answers, then exits:
 *   0  ready: prints one JSON line, e.g. {"issuer":"...","tokenVerified":true,"elapsedMs":1234}
 *   1  not ready before the timeout: one paragraph on stderr (URL, timeout, last thing seen, what to check)
 *   2  bad configuration: one line on stderr naming the variable and the fix
 *
 * Environment:
 *   IDENTITY_SERVICE_URL        base URL without trailing slash, e.g. http://localhost:8090 (required)
 *   IDENTITY_SERVICE_CLIENT_ID  client id for the token check (required unless verification is off)
 *   READINESS_TIMEOUT_SECONDS   overall deadline, positive number, default 300
 *   READINESS_VERIFY_TOKEN      "true" (default) or "false"
 *   READINESS_POLL_INTERVAL_MS  pause between attempts, default 200
 *   READINESS_TOKEN_SCOPES      space-separated scopes to ask the token for (the ones Creatio asks for), default none:
 *                               the service's scope rules are then checked where it runs; on invalid_scope each is
 *                               asked for alone, so that the message names the refused ones
 *   IDENTITY_SERVICE_PUBLIC_URL the URL Creatio uses (its OAuth20IdentityServerUrl), default IDENTITY_SERVICE_URL
 *   READINESS_VERIFY_ISSUER     "true" (default) or "false"
 *   READINESS_CA_CERTIFICATE    PEM of a CA certificate (or several) trusted besides Node's trusted roots, for a
 *                               service whose HTTPS certificate a private CA issued; default none
 * Standard input: JSON {"clientSecret": "..."}; only read when token verification is on.
 * The secret is never printed, never put in a message and never taken from the command line.
 *
 * Step 1 polls GET <url>/.well-known/openid-configuration until it returns 2xx JSON with an `issuer`.
 * Step 2 (unless READINESS_VERIFY_ISSUER=false) polls until the service advertises the public URL as its issuer, as
 * Creatio's discovery client requires (IdentityModel compares the issuer with the URL it was given, ignoring case and
 * a trailing slash). The service builds the issuer from the request (its scheme, after forwarded headers and
 * ForceHttpsSchemeInRequests, and its Host header), and this check reaches the service directly at <url>: when the
 * public URL has another scheme, host or port, the request is made the way a proxy forwards Creatio's request to the
 * service, with the public URL's host in `Host` and its scheme in `X-Forwarded-Proto`.
 * Step 3 (unless READINESS_VERIFY_TOKEN=false) requests a client_credentials token from the path of the
 * discovery document's token_endpoint at <url> (or <url>/connect/token) until it returns an access_token.
 * The steps share one deadline; each HTTP attempt is bounded by min(5 s, time left).
 *
 * An https URL's certificate is always verified, its chain and its host name, whatever NODE_TLS_REJECT_UNAUTHORIZED
 * says: against Node's trusted roots (and NODE_EXTRA_CA_CERTS), plus READINESS_CA_CERTIFICATE when given. A
 * certificate that fails is reported with what to change; the check is never skipped.
 *
 * Node 20 built-ins only (http, https, tls, crypto). `require` it to use waitForReady with an injected clock and
 * fetch; it only runs main() when started directly.
 */
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const https = require("https");
const net = require("net");
const tls = require("tls");

const DEFAULT_TIMEOUT_SECONDS = 300;
const DEFAULT_POLL_INTERVAL_MS = 200;
const MAX_ATTEMPT_MS = 5000;
const MAX_DETAIL_CHARS = 200;
const DISCOVERY_PATH = "/.well-known/openid-configuration";
const DEFAULT_TOKEN_PATH = "/connect/token";

const EXIT_READY = 0;
const EXIT_NOT_READY = 1;
const EXIT_BAD_CONFIG = 2;

/** Bad configuration: the message names the variable and the fix. */
class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The deadline passed; `lastSeen` describes the last attempt. */
class ReadinessTimeoutError extends Error {
  constructor(message, lastSeen) {
    super(message);
    this.name = "ReadinessTimeoutError";
    this.lastSeen = lastSeen;
  }
}

// ---------------------------------------------------------------------------
// Configuration

/** Reads the environment into options (everything except the secret). Throws ConfigError. */
function parseConfig(env) {
  const url = parseBaseUrl(env.IDENTITY_SERVICE_URL);
  const verifyToken = parseBoolean("READINESS_VERIFY_TOKEN", env.READINESS_VERIFY_TOKEN, true);
  const clientId = (env.IDENTITY_SERVICE_CLIENT_ID || "").trim();
  if (verifyToken && clientId === "") {
    throw new ConfigError(
      "IDENTITY_SERVICE_CLIENT_ID is not set: set it to the client id the service was configured with, " +
        "or set READINESS_VERIFY_TOKEN=false to skip the token check.",
    );
  }
  const timeoutSeconds = parsePositiveNumber(
    "READINESS_TIMEOUT_SECONDS",
    env.READINESS_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    "a number of seconds such as 300",
  );
  const pollIntervalMs = parsePositiveNumber(
    "READINESS_POLL_INTERVAL_MS",
    env.READINESS_POLL_INTERVAL_MS,
    DEFAULT_POLL_INTERVAL_MS,
    "a number of milliseconds such as 200",
  );
  const scopes = parseScopes(env.READINESS_TOKEN_SCOPES);
  const verifyIssuer = parseBoolean("READINESS_VERIFY_ISSUER", env.READINESS_VERIFY_ISSUER, true);
  const publicUrl = (env.IDENTITY_SERVICE_PUBLIC_URL || "").trim() === "" ? url : parseBaseUrl(env.IDENTITY_SERVICE_PUBLIC_URL, "IDENTITY_SERVICE_PUBLIC_URL");
  const caCertificate = parseCaCertificate(env.READINESS_CA_CERTIFICATE);
  return { url, publicUrl, clientId, verifyToken, verifyIssuer, timeoutMs: timeoutSeconds * 1000, pollIntervalMs, scopes, caCertificate };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The CA certificates of READINESS_CA_CERTIFICATE as PEM blocks, each one read as X.509; undefined when unset. */
function parseCaCertificate(raw) {
  const value = (raw || "").trim();
  if (value === "") return undefined;
  const blocks = value.match(PEM_CERTIFICATE);
  if (!blocks) {
    throw new ConfigError(
      "READINESS_CA_CERTIFICATE is not a PEM certificate: set it to the CA certificate's text, starting with -----BEGIN CERTIFICATE----- (readiness.caCertificate), or leave it unset to trust Node's roots only.",
    );
  }
  for (const block of blocks) {
    try {
      new crypto.X509Certificate(block);
    } catch (error) {
      throw new ConfigError(`READINESS_CA_CERTIFICATE holds a certificate that cannot be read (${error.message}): give the CA certificate as PEM (readiness.caCertificate).`);
    }
  }
  return blocks;
}

/**
 * The CAs an https request trusts: undefined for Node's default store (its roots and NODE_EXTRA_CA_CERTS); with CA
 * certificates given, those next to Node's roots and NODE_EXTRA_CA_CERTS, because an explicit list replaces the
 * default store instead of adding to it.
 */
function trustedCertificates(caCertificates, env = process.env) {
  if (!caCertificates || caCertificates.length === 0) return undefined;
  let extra = [];
  if (env.NODE_EXTRA_CA_CERTS) {
    try {
      extra = fs.readFileSync(env.NODE_EXTRA_CA_CERTS, "utf8").match(PEM_CERTIFICATE) || [];
    } catch {
      // Node warns about an unreadable NODE_EXTRA_CA_CERTS itself at startup.
    }
  }
  return [...tls.rootCertificates, ...extra, ...caCertificates];
}

/** OAuth scope tokens: printable ASCII without space, quote or backslash (RFC 6749 section 3.3). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function parseScopes(raw) {
  const scopes = (raw || "").split(/\s+/).filter(Boolean);
  const bad = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
  if (bad !== undefined) {
    throw new ConfigError(`READINESS_TOKEN_SCOPES holds "${bad}", which is not an OAuth scope: give scope names separated by spaces.`);
  }
  return [...new Set(scopes)];
}

function parseBaseUrl(raw, name = "IDENTITY_SERVICE_URL") {
  const value = (raw || "").trim();
  if (value === "") {
    throw new ConfigError(
      `${name} is not set: set it to the service's base URL without a trailing slash, e.g. http://localhost:8090.`,
    );
  }
  let parsed;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new ConfigError(
      `${name} is not an http(s) URL (got "${value}"): set it to the service's base URL, e.g. http://localhost:8090.`,
    );
  }
  return value.replace(/\/+$/, "");
}

function parseBoolean(name, raw, fallback) {
  const value = (raw || "").trim().toLowerCase();
  if (value === "") return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(`${name} must be "true" or "false" (got "${raw}").`);
}

function parsePositiveNumber(name, raw, fallback, example) {
  const value = (raw || "").trim();
  if (value === "") return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new ConfigError(`${name} must be a positive number (got "${raw}"): set it to ${example}, or leave it unset for the default.`);
  }
  return number;
}

/**
 * Parses standard input ({"clientSecret": "..."}) and returns the secret ("" when absent).
 * Error messages never quote the input: it holds the secret.
 */
function parseStdinSecret(text) {
  if (text.trim() === "") return "";
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(
      'standard input is not valid JSON: pass {"clientSecret": "<secret>"} on stdin (the content is not shown here because it may hold the secret).',
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError('standard input must be a JSON object such as {"clientSecret": "<secret>"}.');
  }
  const secret = parsed.clientSecret;
  if (secret === undefined || secret === null) return "";
  if (typeof secret !== "string") {
    throw new ConfigError('clientSecret on standard input must be a string: pass {"clientSecret": "<secret>"}.');
  }
  return secret;
}

// ---------------------------------------------------------------------------
// Polling

function defaultClock() {
  return {
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/**
 * Calls `attempt(attemptTimeoutMs)` until it returns {ok: true} or the deadline passes.
 * Returns the successful result, or the most informative failed one with `timedOut: true`:
 * an attempt that only timed out because the deadline cut it short does not hide what an
 * earlier attempt saw (a status code, an OAuth error, a network error code).
 */
async function pollUntil(deadline, clock, pollIntervalMs, attempt) {
  let last = { ok: false, seen: { kind: "none", detail: "no attempt was made before the deadline" } };
  for (;;) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) return { ...last, timedOut: true };
    const budget = Math.max(1, Math.min(MAX_ATTEMPT_MS, Math.floor(remaining)));
    const result = await attempt(budget);
    if (result.ok) return result;
    const cutShortByDeadline = result.seen.kind === "timeout" && budget < MAX_ATTEMPT_MS;
    if (!cutShortByDeadline || last.seen.kind === "none") last = result;
    const left = deadline - clock.now();
    if (left <= 0) return { ...last, timedOut: true };
    await clock.sleep(Math.min(pollIntervalMs, left));
  }
}

/**
 * One HTTP exchange bounded by `timeoutMs`; returns {response, text} or {error}. The bound is a timer of its own that
 * keeps the process alive and ends the attempt even when the request never settles: Node's fetch can neither answer
 * nor fail when the other side closes the connection at once (as Docker's port proxy does before the container
 * listens), and AbortSignal.timeout's timer does not keep the process alive, so the process would end with exit code 0
 * and nothing checked.
 */
async function exchange(fetchImpl, url, init, timeoutMs) {
  const controller = new AbortController();
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => {
      const error = new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError");
      controller.abort(error);
      resolve({ error });
    }, timeoutMs);
  });
  const attempt = (async () => {
    try {
      const response = await fetchImpl(url, { ...init, signal: controller.signal });
      const text = await response.text();
      return { response, text };
    } catch (error) {
      return { error };
    }
  })();
  try {
    return await Promise.race([attempt, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function tryParseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** One line, bounded length: server-provided text goes into messages only through this. */
function shorten(text) {
  const oneLine = String(text).replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return oneLine.length > MAX_DETAIL_CHARS ? oneLine.slice(0, MAX_DETAIL_CHARS) + "..." : oneLine;
}

function describeStatus(response, secret) {
  const reason = response.statusText ? ` ${shorten(redact(response.statusText, secret))}` : "";
  return `HTTP ${response.status}${reason}`;
}

const NETWORK_CODE_MEANINGS = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed by the other side",
};

function findErrorCode(error) {
  for (let current = error, depth = 0; current && depth < 5; current = current.cause, depth++) {
    if (typeof current.code === "string") return { code: current.code, message: current.message };
    if (Array.isArray(current.errors)) {
      const inner = current.errors.find((e) => e && typeof e.code === "string");
      if (inner) return { code: inner.code, message: inner.message };
    }
  }
  return undefined;
}

/**
 * Whether an error code (and message) is the TLS handshake's: a certificate that fails verification (OpenSSL's codes,
 * Node's host name check), or OpenSSL's protocol errors, such as an HTTP server answering a TLS client.
 */
function isTlsFailure({ code, message }) {
  return /CERT|TLS|SSL/i.test(code) || UNTRUSTED_ISSUER_CODES.includes(code) || (code === "EPROTO" && /SSL|TLS/i.test(message || ""));
}

/** Turns a fetch failure into {kind, detail}: timeout, TLS or network (with its error code). */
function describeFetchError(error, timeoutMs) {
  if (error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return { kind: "timeout", detail: `no answer within ${timeoutMs} ms` };
  }
  const found = findErrorCode(error);
  if (found && isTlsFailure(found)) {
    return { kind: "tls", code: found.code, detail: `TLS error: ${found.code} (${shorten(found.message || "")})` };
  }
  if (found) {
    const meaning = NETWORK_CODE_MEANINGS[found.code];
    return { kind: "network", code: found.code, detail: meaning ? `${found.code} (${meaning})` : found.code };
  }
  const cause = error && error.cause && error.cause.message ? `: ${error.cause.message}` : "";
  const message = error && error.message ? shorten(error.message + cause) : String(error);
  return { kind: "network", detail: message };
}

/** One discovery attempt: ok with the document, or what was seen. `headers` are sent besides `accept`. */
async function probeDiscovery(fetchImpl, discoveryUrl, timeoutMs, headers = {}) {
  const { response, text, error } = await exchange(
    fetchImpl,
    discoveryUrl,
    { method: "GET", headers: { accept: "application/json", ...headers } },
    timeoutMs,
  );
  if (error) return { ok: false, seen: describeFetchError(error, timeoutMs) };
  if (response.status < 200 || response.status > 299) {
    const location = response.status >= 300 && response.status <= 399 ? response.headers.get("location") : null;
    if (location) {
      return { ok: false, seen: { kind: "redirect", status: response.status, location: shorten(location), detail: `${describeStatus(response)} to ${shorten(location)}` } };
    }
    return { ok: false, seen: { kind: "http", status: response.status, detail: describeStatus(response) } };
  }
  const document = tryParseJson(text);
  if (document === undefined) {
    const type = response.headers.get("content-type");
    const detail = `${describeStatus(response)} but the response was not JSON` + (type ? ` (content-type ${shorten(type)})` : "");
    return { ok: false, seen: { kind: "not-json", status: response.status, detail } };
  }
  if (!isObject(document) || typeof document.issuer !== "string" || document.issuer.trim() === "") {
    return { ok: false, seen: { kind: "no-issuer", status: response.status, detail: `${describeStatus(response)} but the JSON had no issuer` } };
  }
  return { ok: true, document };
}

/**
 * The token endpoint: the path of the discovery document's token_endpoint, at the address this check reaches the
 * service at; else <url>/connect/token. The service builds the advertised URL from the request it answers (its
 * public scheme and host, https with ForceHttpsSchemeInRequests or behind a TLS proxy), which this machine may not
 * reach the way it reaches `url`.
 */
function resolveTokenEndpoint(baseUrl, document) {
  const advertised = document && document.token_endpoint;
  if (typeof advertised === "string" && advertised.trim() !== "") {
    try {
      const resolved = new URL(advertised.trim(), baseUrl + "/");
      if (resolved.protocol === "http:" || resolved.protocol === "https:") {
        return new URL(resolved.pathname + resolved.search, new URL(baseUrl).origin).toString();
      }
    } catch {
      // fall through to the conventional path
    }
  }
  return baseUrl + DEFAULT_TOKEN_PATH;
}

/**
 * A URL as a client addresses it and as IdentityServer4 writes its issuer: scheme and host lower-cased, no default
 * port (a client leaves it out of Host), the path without a trailing slash.
 */
function canonicalUrl(value) {
  const parsed = new URL(value);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
}

/** IdentityModel's issuer name check: equal ignoring case and a trailing slash. */
function sameIssuer(advertised, expected) {
  const bare = (value) => String(value).replace(/\/+$/, "").toLowerCase();
  return bare(advertised) === bare(expected);
}

/**
 * The headers a proxy in front of the service sends it for a request to the public URL: the original Host (as a
 * client writes it: without a default port) and the scheme the client used. None when the public URL has the
 * scheme, host and port of the address this check reaches the service at.
 */
function forwardedRequestHeaders(baseUrl, publicUrl) {
  const target = new URL(publicUrl);
  if (new URL(baseUrl).origin === target.origin) return undefined;
  return { host: target.host, "x-forwarded-proto": target.protocol.slice(0, -1) };
}

/**
 * fetch's shape over Node's http and https modules: they send the Host header they are given (fetch replaces it) and
 * take the CAs to trust. An https request always verifies the certificate's chain and that it is for the address's
 * host (the TLS server name stays the address's own, whatever Host says), even under NODE_TLS_REJECT_UNAUTHORIZED=0.
 * Redirects are not followed: the gate checks the address it was given.
 */
function httpTransport(caCertificates) {
  const ca = trustedCertificates(caCertificates);
  return (url, init) => request(url, init, ca);
}

function request(url, init, ca) {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const body = init.body === undefined ? undefined : Buffer.from(String(init.body));
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: init.method || "GET",
        headers: body === undefined ? init.headers : { ...init.headers, "content-length": String(body.length) },
        signal: init.signal,
        agent: false,
        ...(target.protocol === "https:" ? { servername: net.isIP(hostname) ? "" : hostname, rejectUnauthorized: true, ...(ca ? { ca } : {}) } : {}),
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: response.statusCode,
            statusText: response.statusMessage || "",
            headers: { get: (name) => (response.headers[name.toLowerCase()] === undefined ? null : String(response.headers[name.toLowerCase()])) },
            text: async () => body,
          });
        });
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/**
 * One look at the issuer the service advertises to Creatio: ok when it is the public URL; otherwise what was seen (the
 * issuer, or why there was none).
 */
async function probeIssuer(fetchImpl, forwardedFetch, options, timeoutMs) {
  const discoveryUrl = options.url + DISCOVERY_PATH;
  const headers = forwardedRequestHeaders(options.url, options.publicUrl);
  const probe = await probeDiscovery(headers ? forwardedFetch : fetchImpl, discoveryUrl, timeoutMs, headers);
  if (!probe.ok) return probe;
  const expected = canonicalUrl(options.publicUrl);
  const issuer = probe.document.issuer;
  if (sameIssuer(issuer, expected)) return { ok: true, issuer };
  return {
    ok: false,
    seen: {
      kind: "issuer",
      issuer: shorten(issuer),
      expected,
      forwarded: headers !== undefined,
      detail: `the issuer ${shorten(issuer)}, not ${expected}`,
    },
  };
}

/** One client_credentials token request: ok when a 2xx JSON answer holds an access_token. */
async function requestToken(fetchImpl, tokenEndpoint, clientId, clientSecret, timeoutMs, scopes = []) {
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret });
  if (scopes.length > 0) body.set("scope", scopes.join(" "));
  const { response, text, error } = await exchange(
    fetchImpl,
    tokenEndpoint,
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body,
    },
    timeoutMs,
  );
  if (error) return { ok: false, seen: describeFetchError(error, timeoutMs) };
  const json = tryParseJson(text);
  const is2xx = response.status >= 200 && response.status <= 299;
  if (is2xx && isObject(json) && typeof json.access_token === "string" && json.access_token !== "") {
    return { ok: true };
  }
  // Redacted before shortening: a cut could leave part of the secret that no longer matches it.
  const oauthError = isObject(json) && typeof json.error === "string" ? shorten(redact(json.error, clientSecret)) : undefined;
  let detail = describeStatus(response, clientSecret);
  if (oauthError) detail += ` with error "${oauthError}"`;
  else if (is2xx) detail += json === undefined ? " but the response was not JSON" : " but no access_token";
  return { ok: false, seen: { kind: is2xx ? "no-token" : "http", status: response.status, oauthError, detail } };
}

/**
 * Waits until the service is ready. Options: url, clientId, clientSecret, verifyToken (default true),
 * timeoutMs, pollIntervalMs, clock ({now(), sleep(ms)}), fetch. Resolves to
 * {issuer, tokenVerified, elapsedMs}; rejects with ReadinessTimeoutError after the deadline.
 */
async function waitForReady(options) {
  const clock = options.clock || defaultClock();
  const transport = httpTransport(options.caCertificate);
  const fetchImpl = options.fetch || transport;
  const verifyToken = options.verifyToken !== false;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_SECONDS * 1000;
  const started = clock.now();
  const deadline = started + timeoutMs;
  const discoveryUrl = options.url + DISCOVERY_PATH;
  const fail = (phase, endpoint, seen) => {
    const lastSeen = { phase, endpoint, caCertificateGiven: Boolean(options.caCertificate && options.caCertificate.length > 0), ...seen };
    throw new ReadinessTimeoutError(formatTimeoutMessage({ url: options.url, timeoutMs, clientId: options.clientId, lastSeen }), lastSeen);
  };

  const discovery = await pollUntil(deadline, clock, pollIntervalMs, (ms) => probeDiscovery(fetchImpl, discoveryUrl, ms));
  if (!discovery.ok) fail("discovery", discoveryUrl, discovery.seen);
  let issuer = discovery.document.issuer;

  const publicUrl = options.publicUrl || options.url;
  if (options.verifyIssuer !== false) {
    const forwardedFetch = options.forwardedFetch || transport;
    const checked = await pollUntil(deadline, clock, pollIntervalMs, (ms) =>
      probeIssuer(fetchImpl, forwardedFetch, { url: options.url, publicUrl }, ms),
    );
    if (!checked.ok) fail("issuer", discoveryUrl, { ...checked.seen, publicUrl });
    issuer = checked.issuer;
  }

  if (verifyToken) {
    const tokenEndpoint = resolveTokenEndpoint(options.url, discovery.document);
    const scopes = options.scopes || [];
    const token = await pollUntil(deadline, clock, pollIntervalMs, (ms) =>
      requestToken(fetchImpl, tokenEndpoint, options.clientId, options.clientSecret, ms, scopes),
    );
    if (!token.ok) {
      const seen = { ...token.seen, scopes };
      if (seen.oauthError === "invalid_scope" && scopes.length > 1) {
        // Which of the scopes are refused: each asked for alone, once, after the deadline (the service answers).
        seen.refusedScopes = [];
        for (const scope of scopes) {
          const alone = await requestToken(fetchImpl, tokenEndpoint, options.clientId, options.clientSecret, MAX_ATTEMPT_MS, [scope]);
          if (!alone.ok && alone.seen.oauthError === "invalid_scope") seen.refusedScopes.push(scope);
        }
      }
      fail("token", tokenEndpoint, seen);
    }
  }

  return { issuer, issuerVerified: options.verifyIssuer !== false, tokenVerified: verifyToken, elapsedMs: Math.round(clock.now() - started) };
}

// ---------------------------------------------------------------------------
// Messages

function formatSeconds(ms) {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

/**
 * What to change when the service advertises another issuer than the URL Creatio uses: by what differs, the
 * scheme (forwarded headers, ForceHttpsSchemeInRequests), the host (the Host header the proxy passes) or the path.
 */
function issuerAdvice(lastSeen) {
  let advertised;
  try {
    advertised = new URL(lastSeen.issuer);
  } catch {
    return "The advertised issuer is not a URL: check what answers at this address.";
  }
  const expected = new URL(lastSeen.expected);
  const asked = lastSeen.forwarded
    ? `This check asked the service the way a proxy forwards Creatio's request (Host: ${expected.host}, X-Forwarded-Proto: ${expected.protocol.slice(0, -1)}). `
    : "";
  if (advertised.protocol !== expected.protocol) {
    if (expected.protocol === "https:") {
      return (
        asked +
        "The service does not know that Creatio reaches it over https, as it does behind a proxy or load balancer that terminates TLS: " +
        "turn on forwarded headers (proxy.forwardedHeaders, on by default when publicUrl differs from url; Creatio 8.0.8 and later) and have the proxy set X-Forwarded-Proto, " +
        "or from Creatio 8.3.1 set forceHttpsSchemeInRequests to true; or give publicUrl with the scheme Creatio really uses."
      );
    }
    return (
      asked +
      "The service advertises https while Creatio is given an http URL: ForceHttpsSchemeInRequests (true by default in the service from Creatio 8.3.1) or an X-Forwarded-Proto of https makes it do so. " +
      "Give publicUrl with https if Creatio reaches the service over https, or set forceHttpsSchemeInRequests to false."
    );
  }
  if (advertised.host !== expected.host) {
    return (
      asked +
      "The service takes the host from the request's Host header and reads no X-Forwarded-Host: " +
      "the proxy must pass the original Host header (nginx: proxy_set_header Host $http_host; HAProxy passes it unchanged), and publicUrl must be the address Creatio uses."
    );
  }
  return (
    asked +
    "The service answers at the root of its host: its issuer and endpoints never carry a path, and it reads no path prefix from a proxy. " +
    "Give the service a host name (or port) of its own at the proxy and set publicUrl to it, without a path."
  );
}

/** Certificate verification errors (OpenSSL's, as Node reports them) that mean the issuer is not trusted. */
const UNTRUSTED_ISSUER_CODES = [
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
];

/**
 * What to change when the service's certificate fails verification: by the error, a CA to trust
 * (readiness.caCertificate), a host name the certificate is for, a certificate to renew, or a port that is not HTTPS.
 */
function tlsAdvice(lastSeen) {
  let host = "the host";
  try {
    host = new URL(lastSeen.endpoint).hostname;
  } catch {
    // the endpoint is always a URL here; keep the generic name otherwise
  }
  const never = "The gate never skips this check.";
  if (UNTRUSTED_ISSUER_CODES.includes(lastSeen.code)) {
    return lastSeen.caCertificateGiven
      ? `The certificate at ${host} was not issued by readiness.caCertificate nor by a CA Node trusts: give readiness.caCertificate the CA that issued it ` +
          `(the last certificate \`openssl s_client -connect <host>:<port> -showcerts\` prints, as PEM), or serve a certificate that CA issued. ${never}`
      : `The certificate at ${host} is issued by a CA this machine does not trust (a private CA, or self-signed): give that CA's certificate (PEM) as readiness.caCertificate, ` +
          `or serve a certificate from a CA in Node's trusted roots. ${never}`;
  }
  if (lastSeen.code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return (
      `The certificate is not for the host name ${host} the gate reaches the service at: serve a certificate whose subject alternative names include ${host}, ` +
      `or set the target's hostname (docker.hostname, swarm.hostname) to a name the certificate is for. ${never}`
    );
  }
  if (lastSeen.code === "CERT_HAS_EXPIRED" || lastSeen.code === "CERT_NOT_YET_VALID") {
    return `The certificate at ${host} is outside its validity period: serve a current certificate (renew it, or check the clocks). ${never}`;
  }
  if (lastSeen.code === "EPROTO" || /WRONG_VERSION|PACKET_LENGTH/.test(lastSeen.code || "")) {
    return `No TLS server answers at ${host} on this port: check that the URL's port is the HTTPS one, or use the http:// address.`;
  }
  return `Check the certificate ${host} presents: its chain must lead to a CA Node trusts or to readiness.caCertificate, and it must be for ${host}. ${never}`;
}

/** What to check next, from the phase and kind of the last thing seen. */
function adviceFor(lastSeen, clientId) {
  const { phase, kind, status, oauthError } = lastSeen;
  if (phase === "issuer" && kind === "issuer") return issuerAdvice(lastSeen);
  if (kind === "tls") return tlsAdvice(lastSeen);
  if (kind === "redirect") {
    return `The service redirects this request to ${lastSeen.location} and the gate follows no redirect: give the address it redirects to as the service's URL (for example its https port).`;
  }
  if (phase === "discovery" || phase === "issuer") {
    if (kind === "http" && status >= 500) {
      return "The service answers but fails: read its logs (docker logs for the container, the stdout log of the IIS site); a database connection or configuration error at startup is the usual cause.";
    }
    if (kind === "http" || kind === "not-json" || kind === "no-issuer") {
      return "Something answers at this address but it is not the Identity Service's discovery endpoint: check the URL (host, port, virtual directory) and the port mapping, and that no proxy or default site answers instead.";
    }
    return "The discovery endpoint never answered: check that the container or IIS site is running, that the port is mapped (published) to this address, and the service logs for a startup failure.";
  }
  const client = clientId ? ` for client "${clientId}"` : "";
  if (kind === "http" && (oauthError === "invalid_client" || status === 401 || (status === 400 && !oauthError))) {
    return (
      `The token endpoint rejected the credentials${client}: either the client id or secret stored in the Identity Service database differs from the configuration, ` +
      'or the service dropped the client because it rejects its configuration (it then logs "Invalid client configuration for client" with the reason at Error level, for example an implicit client without redirect URIs). ' +
      "The package keeps the client rows equal to the configuration unless client.reseed is false or database.reseedConnectionString names another database than the service uses: correct that setting and run pulumi up again, or delete the client's rows (Clients, ClientScopes, ClientSecrets, ClientClaims) yourself and restart the service so it inserts the configured client."
    );
  }
  if (kind === "http" && oauthError === "invalid_scope") {
    const asked = (lastSeen.scopes || []).join(" ");
    const refused = lastSeen.refusedScopes && lastSeen.refusedScopes.length > 0 ? lastSeen.refusedScopes.join(", ") : asked || "(the client's defaults)";
    return (
      `The token endpoint refused the scopes ${refused}${client} (asked for: ${asked || "none, so the client's allowed scopes"}): ` +
      "each scope Creatio asks for must be in the client's AllowedScopes (the ClientScopes rows) and be an enabled API scope of the service (the ApiScopes rows). " +
      "Check that the stored client matches its configuration (re-seeding keeps it so unless client.reseed is false) and that this service version knows those scopes; Creatio asks for them in its own token requests."
    );
  }
  if (kind === "http" && status >= 500) {
    return "The token endpoint fails: read the service logs and check its database connection.";
  }
  if (kind === "http" && oauthError) {
    return `The client${client} exists but the request was refused (${oauthError}): check that the client is allowed the client_credentials grant and its scopes in the Identity Service database, then restart the service.`;
  }
  if (kind === "http" && status === 404) {
    return "The token endpoint was not found: check the token_endpoint the discovery document advertises and the service's base path.";
  }
  if (kind === "network" || kind === "timeout") {
    return "The token endpoint could not be reached from here: check that the token_endpoint in the discovery document (derived from the service's public URL) is reachable from where this check runs.";
  }
  return "Check the service logs for the token request.";
}

/** One paragraph: what was polled, for how long, the last thing seen, and what to check next. */
function formatTimeoutMessage({ url, timeoutMs, clientId, lastSeen }) {
  if (lastSeen.phase === "issuer" && lastSeen.kind === "issuer") {
    return (
      `Identity Service at ${url} was not ready after ${formatSeconds(timeoutMs)}: it advertises the issuer ${lastSeen.issuer}, ` +
      `but Creatio is given ${lastSeen.expected} (publicUrl, or url without one), and Creatio's discovery client requires the issuer to be that URL. ` +
      adviceFor(lastSeen, clientId)
    );
  }
  const step =
    lastSeen.phase === "discovery"
      ? "discovery document"
      : lastSeen.phase === "issuer"
        ? `discovery document, asked for the issuer Creatio sees at ${lastSeen.publicUrl},`
        : "client_credentials token request";
  return (
    `Identity Service at ${url} was not ready after ${formatSeconds(timeoutMs)}: ` +
    `the ${step} at ${lastSeen.endpoint} did not succeed; last seen: ${lastSeen.detail}. ` +
    adviceFor(lastSeen, clientId)
  );
}

/**
 * The ways the secret can come back in server-provided text: as is, JSON-escaped (once or twice), and URL- or form-encoded
 * (it is posted form-encoded, and a server may echo the request), longest first.
 */
function secretForms(secret) {
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = [
    secret,
    json,
    JSON.stringify(json).slice(1, -1),
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
  ];
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/**
 * Removes the secret from any text about to be printed. The command provider repeats a failed command's whole
 * output in its error message, whatever `logging` says, so nothing printed may hold it in any form.
 */
function redact(text, secret) {
  let result = String(text);
  if (!secret) return result;
  for (const form of secretForms(secret)) result = result.split(form).join("[redacted]");
  return result;
}

// ---------------------------------------------------------------------------
// Entry point

function readStdin(stream) {
  if (stream.isTTY) return Promise.resolve("");
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    stream.on("error", reject);
  });
}

let finishing = false;

function finish(stream, text, code) {
  finishing = true;
  stream.write(text + "\n", () => process.exit(code));
}

async function main() {
  let secret = "";
  // Nothing left to wait for before an answer was printed: fail rather than end with exit code 0 and nothing checked.
  process.once("beforeExit", () => {
    if (!finishing) {
      finish(process.stderr, "readiness: unexpected failure: the check ended before any answer or timeout (a request neither completed nor failed)", EXIT_NOT_READY);
    }
  });
  try {
    const config = parseConfig(process.env);
    if (config.verifyToken) {
      secret = parseStdinSecret(await readStdin(process.stdin));
      if (secret === "") {
        throw new ConfigError(
          'clientSecret is missing on standard input: pass {"clientSecret": "<secret>"} on stdin, or set READINESS_VERIFY_TOKEN=false to skip the token check.',
        );
      }
    }
    const result = await waitForReady({ ...config, clientSecret: secret });
    finish(process.stdout, redact(JSON.stringify(result), secret), EXIT_READY);
  } catch (error) {
    if (error instanceof ConfigError) {
      finish(process.stderr, `readiness: bad configuration: ${redact(error.message, secret)}`, EXIT_BAD_CONFIG);
    } else if (error instanceof ReadinessTimeoutError) {
      finish(process.stderr, `readiness: ${redact(error.message, secret)}`, EXIT_NOT_READY);
    } else {
      const message = error && error.message ? error.message : String(error);
      finish(process.stderr, `readiness: unexpected failure: ${redact(message, secret)}`, EXIT_NOT_READY);
    }
  }
}

module.exports = {
  waitForReady,
  canonicalUrl,
  forwardedRequestHeaders,
  parseConfig,
  parseStdinSecret,
  resolveTokenEndpoint,
  trustedCertificates,
  formatTimeoutMessage,
  ConfigError,
  ReadinessTimeoutError,
  main,
};

if (require.main === module) main();
