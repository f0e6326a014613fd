// What a Swarm suite does around its tests: join a single-node swarm when the engine is in none (and leave it again),
// build the images the suite runs, make the stand-in's release on the shell base, and remove whatever a failed test
// left of a component.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONTAINER_LABEL } from "../../../src/targets/docker";
import { docker } from "./executor";
import { pinStandInVersion } from "./standInContext";
import { engine } from "./swarm";

const REPO_ROOT = path.join(__dirname, "..", "..", "..");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const BARE_BASE_IMAGE = "creatio-identity-service-e2e/node-base:local";
const SHELL_BASE_IMAGE = "creatio-identity-service-e2e/node-shell-base:local";

/**
 * Checks that the suite runs from the repository root, joins a single-node swarm when the engine is in none (`docker
 * swarm init --advertise-addr 127.0.0.1`), and builds the node base, the shell base and the Redis image. Returns what
 * undoes the join: leaving the swarm and removing the bridge `swarm init` created, only when this call joined it.
 */
export async function prepareSwarmSuite(): Promise<{ leave(): Promise<void> }> {
  if (path.resolve(process.cwd()) !== path.resolve(REPO_ROOT)) {
    throw new Error(`run the swarm tests from the repository root (${REPO_ROOT}): the component's local commands use paths relative to it`);
  }
  const state = (await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])).stdout.trim();
  let joined = false;
  if (state === "inactive") {
    await docker(["swarm", "init", "--advertise-addr", "127.0.0.1"]);
    joined = true;
  } else if (state !== "active") {
    throw new Error(`the Docker Engine is in swarm state "${state}"; it must be "active" or "inactive"`);
  }
  execFileSync("bash", [path.join(REPO_ROOT, "test", "e2e", "infra", "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("bash", [path.join(REPO_ROOT, "test", "e2e", "swarm", "build-images.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  return {
    async leave() {
      if (!joined) return;
      await docker(["swarm", "leave", "--force"], { allowFailure: true });
      // `swarm init` created the bridge that tasks leave the node through; leaving the swarm keeps it.
      await docker(["network", "rm", "docker_gwbridge"], { allowFailure: true });
    },
  };
}

/**
 * A copy of the stand-in Identity Service's folder as the IdentityService.zip of `creatioVersion`, built on the base
 * with what the vendor's base image gives the default probe (bash, head and grep). Remove it when done.
 */
export function shellBaseRelease(prefix: string, creatioVersion: string): string {
  const context = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-release-`));
  fs.cpSync(FIXTURE_DIR, context, { recursive: true });
  pinStandInVersion(context, creatioVersion);
  const dockerfile = path.join(context, "Dockerfile-OAuth");
  const text = fs.readFileSync(dockerfile, "utf8");
  if (!text.includes(`FROM ${BARE_BASE_IMAGE}`)) throw new Error(`the stand-in's Dockerfile-OAuth is no longer built FROM ${BARE_BASE_IMAGE}`);
  fs.writeFileSync(dockerfile, text.replace(`FROM ${BARE_BASE_IMAGE}`, `FROM ${SHELL_BASE_IMAGE}`));
  return context;
}

/** The Swarm objects of one kind labelled as the component `component`'s. */
export function labelledObjects(component: string, kind: "services" | "secrets" | "networks"): Promise<Array<{ ID?: string; Id?: string }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${CONTAINER_LABEL}=${component}`] }));
  return engine("GET", `/${kind}?filters=${filters}`);
}

/**
 * Removes what a failed test left of the component `component`: its services and secrets, then its networks, once
 * their task containers have left them (`beforeNetworks` runs in between, for containers of the suite's own).
 */
export async function removeComponentObjects(component: string, beforeNetworks: () => Promise<void> = async () => undefined): Promise<void> {
  for (const kind of ["services", "secrets"] as const) {
    for (const item of await labelledObjects(component, kind).catch(() => [])) await engine("DELETE", `/${kind}/${item.ID}`).catch(() => undefined);
  }
  await beforeNetworks();
  for (let attempt = 0; attempt < 30; attempt++) {
    const networks = await labelledObjects(component, "networks").catch(() => []);
    if (networks.length === 0) return;
    for (const network of networks) await engine("DELETE", `/networks/${network.Id}`).catch(() => undefined);
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}
