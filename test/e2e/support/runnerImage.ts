// The image the e2e tests give the `container` re-seed runner (no registry is reachable, so not the default
// node:24-alpine): the e2e base image, Node.js only, with its node_modules out of reach (NODE_PATH emptied), so that
// only the drivers bundled into the re-seed script can work.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docker } from "./executor";

const LABEL = "creatio-identity-service-e2e";
const BASE_IMAGE = `${LABEL}/node-base:local`;
export const RUNNER_IMAGE = `${LABEL}/reseed-runner:local`;
export const BUNDLE = path.join(__dirname, "..", "..", "..", "bin", "scripts", "reseed.bundle.js");

/**
 * Bundles the re-seed script anew (`npm run bundle`: a bundle from an earlier build would run old code) and builds
 * RUNNER_IMAGE (and the base image, when it is not up to date).
 */
export async function buildRunnerImage(): Promise<string> {
  execFileSync("npm", ["run", "--silent", "bundle"], { cwd: path.join(__dirname, "..", "..", ".."), stdio: ["ignore", "ignore", "inherit"] });
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing after npm run bundle`);
  execFileSync("bash", [path.join(__dirname, "..", "infra", "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-reseed-runner-"));
  try {
    fs.writeFileSync(path.join(dir, "Dockerfile"), `FROM ${BASE_IMAGE}\nENV NODE_PATH=\n`);
    await docker(["build", "-q", "--label", `${LABEL}=1`, "-t", RUNNER_IMAGE, dir], { env: { DOCKER_BUILDKIT: "0" } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return RUNNER_IMAGE;
}
