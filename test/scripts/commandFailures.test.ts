// Every packaged Node script, failed on purpose with secrets in its input, run as the command provider runs it; the
// error message the provider would report (its whole combined output) must hold no secret in any encoding.
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { nodeScriptCommand } from "../../src/packagedScripts";
import { storedClient } from "../../src/reseed";
import { CommandRun, leakedForms, runLikeCommandProvider } from "../support/commandProvider";
import { freePort } from "../support/freePort";

/** Characters that JSON, URLs and forms each encode differently. */
const CLIENT_SECRET = 'Cs9"q\\u&x+y z/=%-ü-client-SECRET-71c4';
const DB_PASSWORD = "Pw7'r;d\"q=+ /%-DB-PASSWORD-5e2a";
const CLIENT_ID = "creatio-system-client";

const readiness = nodeScriptCommand("readiness.js", undefined);
const reseed = nodeScriptCommand("reseed.js", undefined);
const creatioConnect = nodeScriptCommand("creatio-connect.js", undefined);
const CREATIO_PASSWORD = 'Cp4"w\\o&r+d =/%-CREATIO-PASSWORD-93b1';

function assertFailedWithoutSecrets(run: CommandRun, expectedExit: number, secrets: Record<string, string>, mentions: RegExp): void {
    assert.equal(run.exitCode, expectedExit, `exit code; output:\n${leakedForms(run.stdout + run.stderr, secrets).length ? "(withheld: holds a secret)" : run.stdout + run.stderr}`);
    assert.ok(run.providerError, "the provider reports an error");
    assert.deepEqual(leakedForms(run.providerError, secrets), [], "secrets in the provider's error message");
    assert.match(run.providerError, mentions, "the message still says what went wrong");
}

const servers: http.Server[] = [];

function serve(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    return new Promise(resolve =>
        server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
    );
}

/** An OAuth server whose discovery points at its token endpoint, which `onToken` answers with the posted form. */
function serveTokenEndpoint(onToken: (form: string, res: http.ServerResponse) => void): Promise<string> {
    return serve((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
            res.setHeader("content-type", "application/json");
            if (req.url === "/.well-known/openid-configuration") {
                const origin = `http://${req.headers.host}`;
                res.end(JSON.stringify({ issuer: origin, token_endpoint: `${origin}/connect/token` }));
                return;
            }
            onToken(Buffer.concat(chunks).toString("utf8"), res);
        });
    });
}

function readinessEnvironment(url: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        IDENTITY_SERVICE_URL: url,
        IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID,
        READINESS_TIMEOUT_SECONDS: "1",
        READINESS_POLL_INTERVAL_MS: "100",
        ...extra,
    };
}

describe("command failures hold no secrets (as the command provider reports them)", function () {
    this.timeout(30_000);

    after(() => {
        for (const server of servers) server.close();
    });

    describe("readiness.js", () => {
        const stdin = JSON.stringify({ clientSecret: CLIENT_SECRET });
        const secrets = { clientSecret: CLIENT_SECRET };

        it("a token endpoint that echoes the request (as is, URL-encoded and JSON-escaped) until the deadline", async () => {
            const url = await serveTokenEndpoint((body, res) => {
                const echoed = new URLSearchParams(body).get("client_secret") ?? "";
                res.statusCode = 400;
                res.end(JSON.stringify({ error: "invalid_client", error_description: `${echoed} | ${body} | ${JSON.stringify(echoed)}` }));
            });
            const run = await runLikeCommandProvider(readiness, { environment: readinessEnvironment(url), stdin });
            assertFailedWithoutSecrets(run, 1, secrets, /not ready after/);
        });

        it("a token endpoint that puts the posted form in its error code and status text (the secret URL- and form-encoded)", async () => {
            const url = await serveTokenEndpoint((form, res) => {
                const echoed = new URLSearchParams(form).get("client_secret") ?? "";
                res.statusCode = 400;
                res.statusMessage = `Bad secret ${encodeURIComponent(echoed)}`;
                res.end(JSON.stringify({ error: `invalid_client:${new URLSearchParams({ client_secret: echoed })}` }));
            });
            const run = await runLikeCommandProvider(readiness, { environment: readinessEnvironment(url), stdin });
            assertFailedWithoutSecrets(run, 1, secrets, /not ready after 1 s: the client_credentials token request/);
        });

        it("a token endpoint whose long error code ends with the secret (no part of it survives shortening)", async () => {
            const url = await serve((req, res) => {
                req.resume();
                req.on("end", () => {
                    res.setHeader("content-type", "application/json");
                    if (req.url === "/.well-known/openid-configuration") {
                        res.end(JSON.stringify({ issuer: `http://${req.headers.host}` }));
                        return;
                    }
                    res.statusCode = 400;
                    // The script shortens server text to 200 characters: the cut falls inside the secret.
                    res.end(JSON.stringify({ error: `${"e".repeat(190)}${CLIENT_SECRET}` }));
                });
            });
            const run = await runLikeCommandProvider(readiness, { environment: readinessEnvironment(url), stdin });
            assertFailedWithoutSecrets(run, 1, { ...secrets, secretStart: CLIENT_SECRET.slice(0, 9) }, /with error "e+\[redacted\]"/);
        });

        it("a service that cannot be reached", async () => {
            const url = `http://127.0.0.1:${await freePort()}`;
            const run = await runLikeCommandProvider(readiness, { environment: readinessEnvironment(url), stdin });
            assertFailedWithoutSecrets(run, 1, secrets, /not ready after/);
        });

        it("bad configuration, with the secret on stdin", async () => {
            const run = await runLikeCommandProvider(readiness, {
                environment: readinessEnvironment("http://127.0.0.1:1", { READINESS_TIMEOUT_SECONDS: "soon" }),
                stdin,
            });
            assertFailedWithoutSecrets(run, 2, secrets, /READINESS_TIMEOUT_SECONDS must be a positive number/);
        });

        it("standard input that is not JSON and holds the secret", async () => {
            const run = await runLikeCommandProvider(readiness, {
                environment: readinessEnvironment("http://127.0.0.1:1"),
                stdin: `{"clientSecret": "${CLIENT_SECRET}"`,
            });
            assertFailedWithoutSecrets(run, 2, secrets, /standard input is not valid JSON/);
        });
    });

    describe("reseed.js", () => {
        // The input as the component builds it: the client with its secret hashed.
        const client = storedClient({
            ClientId: CLIENT_ID,
            ClientName: "Creatio",
            Secrets: [CLIENT_SECRET],
            AllowedGrantTypes: ["client_credentials"],
            RedirectUris: [],
            PostLogoutRedirectUris: [],
            IdentityTokenLifetime: 300,
            AccessTokenLifetime: 3600,
            AllowedScopes: ["IdentityServerApi"],
        });
        const input = (connectionString: string) => JSON.stringify({ action: "prepare", connectionString, client });
        const secrets = { password: DB_PASSWORD, clientSecret: CLIENT_SECRET };
        const quoted = `"${DB_PASSWORD.replace(/"/g, '""')}"`;

        it("a database server that cannot be reached", async () => {
            const port = await freePort();
            const connectionString = `Server=127.0.0.1;Port=${port};Database=creatio;User ID=creatio;Password=${quoted};Timeout=2;`;
            const run = await runLikeCommandProvider(reseed, { environment: { RESEED_DB_PROVIDER: "Postgres" }, stdin: input(connectionString) });
            assertFailedWithoutSecrets(run, 1, { ...secrets, connectionString }, /cannot reach the Postgres database "creatio"/);
        });

        it("a connection string that cannot be parsed", async () => {
            const connectionString = `Server=db;Database=creatio;User ID=creatio;Password="${DB_PASSWORD}`;
            const run = await runLikeCommandProvider(reseed, { environment: { RESEED_DB_PROVIDER: "Postgres" }, stdin: input(connectionString) });
            assertFailedWithoutSecrets(run, 2, { ...secrets, connectionString }, /connection string/);
        });

        it("a connection string with a bad setting next to the password", async () => {
            const connectionString = `Server=db;Database=creatio;User ID=creatio;Password=${quoted};SSL Mode=Sometimes;`;
            const run = await runLikeCommandProvider(reseed, { environment: { RESEED_DB_PROVIDER: "Postgres" }, stdin: input(connectionString) });
            assertFailedWithoutSecrets(run, 2, { ...secrets, connectionString }, /SSL Mode "Sometimes" is not known/);
        });

        it("standard input that is not JSON and holds the connection string", async () => {
            const connectionString = `Server=db;Database=creatio;User ID=creatio;Password=${quoted};`;
            const run = await runLikeCommandProvider(reseed, {
                environment: { RESEED_DB_PROVIDER: "Postgres" },
                stdin: input(connectionString).slice(0, -1),
            });
            assertFailedWithoutSecrets(run, 2, { ...secrets, connectionString }, /standard input is not valid JSON/);
        });

        it("an unknown database provider, with the connection string on stdin", async () => {
            const connectionString = `Server=db;Database=creatio;User ID=creatio;Password=${quoted};`;
            const run = await runLikeCommandProvider(reseed, { environment: { RESEED_DB_PROVIDER: "Oracle" }, stdin: input(connectionString) });
            assertFailedWithoutSecrets(run, 2, { ...secrets, connectionString }, /RESEED_DB_PROVIDER must be one of Postgres, MsSqlServer/);
        });
    });

    describe("creatio-connect.js", () => {
        const stdin = JSON.stringify({ password: CREATIO_PASSWORD, clientSecret: CLIENT_SECRET });
        const secrets = { password: CREATIO_PASSWORD, clientSecret: CLIENT_SECRET };
        const environment = (url: string) => ({
            CREATIO_URL: url,
            CREATIO_USERNAME: "Supervisor",
            CREATIO_ROUTE_PREFIX: "",
            IDENTITY_SERVICE_URL: "http://ids.example.com:8090",
            IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID,
            CREATIO_TIMEOUT_SECONDS: "5",
        });
        /** A Creatio whose login answers with what `answer` makes of the posted body. */
        const creatio = (answer: (body: string, res: http.ServerResponse) => void) =>
            serve((req, res) => {
                const chunks: Buffer[] = [];
                req.on("data", (chunk: Buffer) => chunks.push(chunk));
                req.on("end", () => answer(Buffer.concat(chunks).toString("utf8"), res));
            });

        it("a login that fails with the posted body in its answer (the password JSON-escaped)", async () => {
            const url = await creatio((body, res) => {
                res.statusCode = 500;
                res.setHeader("content-type", "application/json");
                res.end(JSON.stringify({ error: body }));
            });
            const run = await runLikeCommandProvider(`${creatioConnect} apply`, { environment: environment(url), stdin });
            assertFailedWithoutSecrets(run, 1, secrets, /AuthService\.svc\/Login answered HTTP 500/);
        });

        it("a refused login whose long message ends with the password (no part of it survives shortening)", async () => {
            const url = await creatio((body, res) => {
                const password = String((JSON.parse(body) as { UserPassword?: string }).UserPassword);
                res.setHeader("content-type", "application/json");
                res.end(JSON.stringify({ Code: 1, Message: `${"m".repeat(290)}${password}` }));
            });
            const run = await runLikeCommandProvider(`${creatioConnect} apply`, { environment: environment(url), stdin });
            assertFailedWithoutSecrets(run, 1, { ...secrets, passwordStart: CREATIO_PASSWORD.slice(0, 9) }, /refused the login of user "Supervisor"/);
        });

        it("bad configuration, with both secrets on stdin", async () => {
            const run = await runLikeCommandProvider(`${creatioConnect} apply`, {
                environment: { ...environment("http://127.0.0.1:1"), CREATIO_ROUTE_PREFIX: "/1" },
                stdin,
            });
            assertFailedWithoutSecrets(run, 2, secrets, /CREATIO_ROUTE_PREFIX must be "\/0"/);
        });
    });
});
