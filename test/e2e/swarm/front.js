/*
 * The load balancer in front of a Swarm service for the swarm e2e suite, on a machine without IPVS (no routing mesh,
 * no service VIP). It runs as a container on the service's overlay network, as Traefik or nginx would, and does what
 * a layer-4 balancer with `proxy_next_upstream error` does: every client connection goes to the next task address
 * that DNS returns for the service (endpoint mode dnsrr: one A record per running task), and a task that refuses the
 * connection is skipped for the next one. It also relays one TCP port to the database, so that the tasks reach
 * PostgreSQL from the Docker bridge, whose subnet is the only one the test cluster admits.
 *
 * With SERVICE_HTTPS_PORT it balances a second port the same way (HTTPS_LISTEN_PORT, 8443), passing TLS through to
 * the tasks, as a layer-4 balancer in front of a service that serves HTTPS itself does.
 *
 * Environment: SERVICE_NAME, SERVICE_PORT (80), LISTEN_PORT (8080), SERVICE_HTTPS_PORT (none), HTTPS_LISTEN_PORT
 * (8443), DB_HOST, DB_PORT, DB_LISTEN_PORT (5432). Node built-ins only.
 */
"use strict";

const dns = require("dns").promises;
const net = require("net");

const serviceName = process.env.SERVICE_NAME;
let next = 0;

function log(message) {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

/** The tasks' addresses now; none while the service has no running task. */
async function taskAddresses() {
  try {
    return (await dns.lookup(serviceName, { all: true, family: 4 })).map((entry) => entry.address);
  } catch {
    return [];
  }
}

function connectTo(address, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    socket.setTimeout(2000, () => socket.destroy(new Error("connect timeout")));
    socket.once("connect", () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

function pipe(client, upstream) {
  client.pipe(upstream);
  upstream.pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
}

/** Listens on `listenPort` and relays each connection to `servicePort` of the next task that accepts it. */
function balance(listenPort, servicePort) {
  net
    .createServer(async (client) => {
      client.pause();
      client.on("error", () => undefined);
      const addresses = await taskAddresses();
      const start = next++;
      for (let i = 0; i < addresses.length; i++) {
        const address = addresses[(start + i) % addresses.length];
        try {
          const upstream = await connectTo(address, servicePort);
          pipe(client, upstream);
          client.resume();
          return;
        } catch (err) {
          log(`task ${address} refused: ${err.code || err.message}; trying the next one`);
        }
      }
      log(`no task answered (${addresses.length} addresses)`);
      client.destroy();
    })
    .listen(listenPort, "0.0.0.0", () => log(`balancing to ${serviceName}:${servicePort}`));
}

balance(Number(process.env.LISTEN_PORT || 8080), Number(process.env.SERVICE_PORT || 80));
if (process.env.SERVICE_HTTPS_PORT) {
  balance(Number(process.env.HTTPS_LISTEN_PORT || 8443), Number(process.env.SERVICE_HTTPS_PORT));
}

if (process.env.DB_HOST) {
  net
    .createServer((client) => {
      client.on("error", () => undefined);
      connectTo(process.env.DB_HOST, Number(process.env.DB_PORT || 5432)).then(
        (upstream) => pipe(client, upstream),
        () => client.destroy(),
      );
    })
    .listen(Number(process.env.DB_LISTEN_PORT || 5432), "0.0.0.0");
}

process.on("SIGTERM", () => process.exit(0));
