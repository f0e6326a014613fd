// The load balancer container of the Swarm tests and benchmarks (test/e2e/swarm/front.js) and the overlay network
// it shares with the service: on this machine's kernel there is no IPVS, hence no routing mesh (see front.js).
import * as path from "path";
import { docker } from "./executor";

const FRONT_SCRIPT = path.join(__dirname, "..", "swarm", "front.js");
export const BASE_IMAGE = "creatio-identity-service-e2e/node-base:local";
/** The port the balancer relays to the database, as the tasks see it: `<front name>:5432`. */
export const DB_RELAY_PORT = 5432;

export interface Front {
  /** The container's and the network's name; the tasks reach the database relay under it. */
  readonly name: string;
  readonly networkId: string;
  /** The balancer as the machine that runs the tests reaches it. */
  readonly url: string;
  /** Its HTTPS port on 127.0.0.1, passing TLS through to the tasks' port 443, when it was asked for one. */
  readonly httpsPort?: number;
  /** Lines the balancer logged (a task refused a connection and the next one was tried). */
  logs(): Promise<string[]>;
  remove(): Promise<void>;
}

/** The tasks' HTTPS port, inside them (CONTAINER_HTTPS_PORT of the package). */
const TASK_HTTPS_PORT = 443;

/**
 * Starts the balancer for the service alias `serviceAlias` on a new attachable overlay network `name`, published
 * on 127.0.0.1:`port` (and, with `httpsPort`, on 127.0.0.1:`httpsPort` to the tasks' HTTPS port), and attached to the
 * default bridge for the database relay to `dbHost`:`dbPort`.
 */
export async function startFront(
  name: string,
  options: { serviceAlias: string; port: number; httpsPort?: number; dbHost: string; dbPort: number; label: string },
): Promise<Front> {
  const https = options.httpsPort === undefined ? [] : ["-p", `127.0.0.1:${options.httpsPort}:8443`, "-e", `SERVICE_HTTPS_PORT=${TASK_HTTPS_PORT}`];
  const networkId = (await docker(["network", "create", "--driver", "overlay", "--attachable", "--label", options.label, name])).stdout.trim();
  await docker([
    "run", "-d", "--name", name, "--network", name, "--label", options.label,
    "-p", `127.0.0.1:${options.port}:8080`, ...https,
    "-v", `${FRONT_SCRIPT}:/front.js:ro`,
    "-e", `SERVICE_NAME=${options.serviceAlias}`, "-e", `DB_HOST=${options.dbHost}`, "-e", `DB_PORT=${options.dbPort}`,
    "--entrypoint", "/usr/bin/node", BASE_IMAGE, "/front.js",
  ]);
  await docker(["network", "connect", "bridge", name]);
  return {
    name,
    networkId,
    url: `http://127.0.0.1:${options.port}`,
    httpsPort: options.httpsPort,
    async logs() {
      const result = await docker(["logs", name], { allowFailure: true });
      return (result.stdout + result.stderr).split("\n").filter(line => line.trim() !== "");
    },
    async remove() {
      await docker(["rm", "-f", name], { allowFailure: true });
      // The network goes once the service's tasks have left it.
      for (let attempt = 0; attempt < 30; attempt++) {
        const removed = await docker(["network", "rm", name], { allowFailure: true });
        if (removed.code === 0 || /not found/i.test(removed.stderr)) return;
        await new Promise(resolve => setTimeout(resolve, 1000));
      }
    },
  };
}
