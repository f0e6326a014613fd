/**
 * What every deployment suite needs before its first test: the repository root as working directory (the
 * component's local commands use paths relative to it), PostgreSQL reachable from containers, a Docker Engine that
 * answers, and the locally built base image of the stand-in Identity Service.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { PostgresEnv, readPostgresEnv } from "../infra/postgres";
import { docker } from "./executor";

const REPO_ROOT = path.join(__dirname, "..", "..", "..");
const INFRA_DIR = path.join(__dirname, "..", "infra");

/** PostgreSQL's details, with the address containers reach it at. */
export type DeploymentSuiteEnv = PostgresEnv & { readonly hostFromContainers: string };

/** Checks the infrastructure the deployment suites run on and builds the base image; returns PostgreSQL's details. */
export async function prepareDeploymentSuite(): Promise<DeploymentSuiteEnv> {
    if (path.resolve(process.cwd()) !== path.resolve(REPO_ROOT)) {
        throw new Error(`run the e2e tests from the repository root (${REPO_ROOT}): the component's local commands use paths relative to it`);
    }
    const env = readPostgresEnv();
    const hostFromContainers = env.hostFromContainers;
    if (!hostFromContainers) {
        throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-docker.sh, then test/e2e/infra/start-postgres.sh again");
    }
    await docker(["version", "--format", "{{.Server.Version}}"]).catch(() => {
        throw new Error("Docker does not answer: run test/e2e/infra/start-docker.sh first");
    });
    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    return { ...env, hostFromContainers };
}
