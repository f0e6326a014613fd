// The PostgreSQL that start-postgres.sh started, as the e2e tests see it: connection details from its env
// file, and a scratch database per test file (created and dropped here) so tests never share tables.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Client, ClientConfig } from "pg";

export interface PostgresEnv {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** The address containers on the default bridge use to reach this PostgreSQL (the docker0 gateway). */
  hostFromContainers?: string;
  /** A login with nothing but LOGIN, for tests that grant it what client re-seeding needs. */
  reseedUser?: string;
  reseedPassword?: string;
}

/** Same place as `$STATE_DIR/postgres.env` in common.sh. */
export function postgresEnvFile(): string {
  const stateDir = process.env.E2E_STATE_DIR || path.join(process.env.TMPDIR || "/tmp", "creatio-identity-service-e2e");
  return process.env.E2E_POSTGRES_ENV_FILE || path.join(stateDir, "postgres.env");
}

export function readPostgresEnv(): PostgresEnv {
  const file = postgresEnvFile();
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new Error(`${file} not found: run test/e2e/infra/start-postgres.sh first (after start-docker.sh for container tests)`);
  }
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1], match[2]);
  }
  const required = (key: string) => {
    const value = values.get(key);
    if (!value) throw new Error(`${file} has no ${key}: rerun test/e2e/infra/start-postgres.sh`);
    return value;
  };
  return {
    host: required("PGHOST"),
    port: Number(required("PGPORT")),
    database: required("PGDATABASE"),
    user: required("PGUSER"),
    password: required("PGPASSWORD"),
    hostFromContainers: values.get("PGHOST_FROM_CONTAINERS") || undefined,
    reseedUser: values.get("PGRESEED_USER") || undefined,
    reseedPassword: values.get("PGRESEED_PASSWORD") || undefined,
  };
}

export function clientConfig(env: PostgresEnv, database = env.database): ClientConfig {
  return { host: env.host, port: env.port, database, user: env.user, password: env.password };
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(config: ClientConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase {
  name: string;
  config: ClientConfig;
  drop(): Promise<void>;
}

/** A new, empty database owned by the e2e role; `drop()` removes it even while a container is connected. */
export async function createScratchDatabase(env: PostgresEnv, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${crypto.randomBytes(4).toString("hex")}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad scratch database name ${name}`);
  // CREATE DATABASE cannot run inside a transaction: a statement of its own.
  await withClient(clientConfig(env), (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    config: clientConfig(env, name),
    drop: () => dropDatabase(env, name),
  };
}

/**
 * DROP DATABASE ... WITH (FORCE), again while FORCE refuses (42501) to end a process in the database that is not yet
 * or not at all the role's: a connection still authenticating (a wrong-password test's) or an autovacuum worker,
 * both gone soon after.
 */
async function dropDatabase(env: PostgresEnv, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withClient(clientConfig(env), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "42501" || attempt >= 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
