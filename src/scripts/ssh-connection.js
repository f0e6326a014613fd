/*
 * How the package's own SSH clients (ssh-run.js, the drift read-back's transport; reseed-server.js, the `server`
 * re-seed runner) sign in with the IIS target's `iis.connection`: as `remote.Command` does
 * (pulumi/pulumi-command provider/pkg/provider/remote/connection.go @ v1.2.1), so that a connection the IIS steps
 * accept is one these accept too. Port 22 and user "root" by default; a private key (with its passphrase), a password
 * (also for keyboard-interactive prompts) and an agent (`agentSocketPath`, else SSH_AUTH_SOCK) offered as given; with
 * `hostKey` only a server presenting that key is accepted, without one any host key is; `perDialTimeout` seconds per
 * attempt (15 by default, 0 for no limit). `dialErrorLimit` is not used: one attempt.
 */
"use strict";

const DEFAULT_SSH_PORT = 22;
const DEFAULT_SSH_USER = "root";
const DEFAULT_PER_DIAL_TIMEOUT_SECONDS = 15;

/** The key blob of an OpenSSH public key line ("ssh-ed25519 AAAA... comment"), as the server presents it. */
function hostKeyBlob(line) {
  const parsed = require("ssh2").utils.parseKey(line);
  if (parsed instanceof Error) {
    throw new Error(`connection.hostKey is not an OpenSSH public key: ${parsed.message}`);
  }
  return (Array.isArray(parsed) ? parsed[0] : parsed).getPublicSSH();
}

/** ssh2's `connect` options for a connection. Throws when `hostKey` is not a public key. */
function connectOptions(connection) {
  const expected = connection.hostKey ? hostKeyBlob(connection.hostKey) : undefined;
  return {
    host: connection.host,
    port: connection.port || DEFAULT_SSH_PORT,
    username: connection.user || DEFAULT_SSH_USER,
    password: connection.password || undefined,
    privateKey: connection.privateKey || undefined,
    passphrase: connection.privateKeyPassword || undefined,
    agent: connection.agentSocketPath || process.env.SSH_AUTH_SOCK || undefined,
    // The password answers keyboard-interactive prompts too (ssh.KeyboardInteractive); see `answerPrompts`.
    tryKeyboard: Boolean(connection.password),
    hostVerifier: (key) => expected === undefined || (Buffer.isBuffer(key) && key.equals(expected)),
    readyTimeout: connection.perDialTimeout === 0 ? 2 ** 31 - 1 : (connection.perDialTimeout || DEFAULT_PER_DIAL_TIMEOUT_SECONDS) * 1000,
  };
}

/** Answers every keyboard-interactive prompt of `client` with the connection's password. */
function answerPrompts(client, connection) {
  client.on("keyboard-interactive", (_name, _instructions, _language, prompts, finish) => finish(prompts.map(() => connection.password || "")));
}

/** Where a connection goes, for messages: never a credential. */
function describeConnection(connection) {
  return `${connection.user || DEFAULT_SSH_USER}@${connection.host}:${connection.port || DEFAULT_SSH_PORT}`;
}

module.exports = { connectOptions, answerPrompts, describeConnection, DEFAULT_SSH_PORT };
