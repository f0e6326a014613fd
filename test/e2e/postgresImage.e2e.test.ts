// The stand-in `postgres` image (test/fixtures/postgres-image, a test double) holds to the official image's documented
// contract that examples/docker-postgres relies on: POSTGRES_PASSWORD required, POSTGRES_USER / POSTGRES_DB, initdb on
// the first start only, data in /var/lib/postgresql/data, every container interface on 5432 with SCRAM password
// authentication for network clients, and a clean shutdown on Docker's stop signal and on SIGTERM. Built under a tag
// of this run (never postgres:16), published on 127.0.0.1 only, removed afterwards.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import { Client } from "pg";
import { dockerAvailable } from "../emulator/providers/docker";
import { freePort } from "../support/freePort";

const BUILD = path.join(__dirname, "..", "fixtures", "postgres-image", "build.sh");
const RUN_ID = crypto.randomBytes(3).toString("hex");
const IMAGE = `creatio-identity-service-e2e/postgres-stand-in:test-${RUN_ID}`;
const PASSWORD = `Pg-"Passw0rd ${RUN_ID}`;

function docker(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

async function connect(port: number, user: string, password: string, database: string): Promise<Client> {
    for (let attempt = 0; ; attempt++) {
        const client = new Client({ host: "127.0.0.1", port, user, password, database, connectionTimeoutMillis: 5000 });
        try {
            await client.connect();
            return client;
        } catch (error) {
            await client.end().catch(() => undefined);
            // The first start runs initdb before the server listens; only authentication errors are final.
            if ((error as { code?: string }).code === "28P01" || attempt >= 60) throw error;
            await new Promise(resolve => setTimeout(resolve, 500));
        }
    }
}

/** What the container printed, its standard output and error together (the server logs to standard error). */
function logs(container: string): string {
    const result = spawnSync("docker", ["logs", container], { encoding: "utf8" });
    return result.stdout + result.stderr;
}

async function waitForExit(container: string): Promise<number> {
    return Number(docker("wait", container));
}

describe("stand-in postgres image: the official image's start-up contract", function () {
    this.timeout(300_000);
    const containers: string[] = [];

    function start(name: string, env: Record<string, string>, port?: number): string {
        const container = `cis-postgres-image-${name}-${RUN_ID}`;
        containers.push(container);
        docker("run", "-d", "--name", container, ...(port ? ["--publish", `127.0.0.1:${port}:5432`] : []),
            ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]), IMAGE);
        return container;
    }

    before(function () {
        if (!dockerAvailable()) throw new Error("Docker does not answer: run test/e2e/infra/start-docker.sh first");
        execFileSync("bash", [BUILD], { env: { ...process.env, POSTGRES_IMAGE: IMAGE }, stdio: ["ignore", "ignore", "inherit"] });
    });

    after(function () {
        for (const container of containers) spawnSync("docker", ["rm", "-f", container], { stdio: "ignore" });
        spawnSync("docker", ["rmi", IMAGE], { stdio: "ignore" });
    });

    it("refuses to initialise without POSTGRES_PASSWORD, naming the variable", async () => {
        const container = start("no-password", { POSTGRES_USER: "creatio" });
        assert.equal(await waitForExit(container), 1);
        assert.match(logs(container), /superuser password is not specified\. Set POSTGRES_PASSWORD/);
    });

    it("initialises POSTGRES_USER (superuser, SCRAM password) and POSTGRES_DB in /var/lib/postgresql/data, listening on every interface", async () => {
        const port = await freePort();
        const container = start("contract", { POSTGRES_PASSWORD: PASSWORD, POSTGRES_USER: "creatio", POSTGRES_DB: "creatio_db" }, port);
        const client = await connect(port, "creatio", PASSWORD, "creatio_db");
        try {
            const row = (await client.query(
                "SELECT current_database() AS db, current_setting('data_directory') AS data, current_setting('listen_addresses') AS listen, " +
                "rolsuper, rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = current_user")).rows[0];
            assert.deepEqual(row, { db: "creatio_db", data: "/var/lib/postgresql/data", listen: "*", rolsuper: true, scram: true });
            await client.query("CREATE TABLE kept (value text); INSERT INTO kept VALUES ('across restarts')");
        } finally {
            await client.end();
        }
        // Network clients authenticate with the password.
        await assert.rejects(connect(port, "creatio", "wrong-password", "creatio_db"), (error: { code?: string }) => error.code === "28P01");
        assert.ok(!logs(container).includes(PASSWORD), "the password is not logged");

        // `docker stop` (the image's stop signal, SIGINT): a clean, fast shutdown.
        docker("stop", container);
        assert.equal(docker("inspect", "-f", "{{.State.ExitCode}}", container), "0");
        assert.match(logs(container), /database system is shut down/);

        // The second start keeps the data and skips initialisation.
        docker("start", container);
        const again = await connect(Number(docker("port", container, "5432/tcp").split(":").pop()), "creatio", PASSWORD, "creatio_db");
        try {
            assert.deepEqual((await again.query("SELECT value FROM kept")).rows, [{ value: "across restarts" }]);
        } finally {
            await again.end();
        }
        assert.match(logs(container), /Skipping initialization/);

        // SIGTERM reaches the server (PID 1): PostgreSQL's smart shutdown, clean as well once no client is connected.
        docker("kill", "--signal", "TERM", container);
        assert.equal(await waitForExit(container), 0);
        assert.match(logs(container), /received smart shutdown request[\s\S]*database system is shut down/);
    });
});
