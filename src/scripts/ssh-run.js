#!/usr/bin/env node
/*
 * Runs one command on an SSH server and prints its standard output: the transport of the IIS target's drift
 * read-back (iis.detectDrift), which runs as `command.local.run` on every preview and update, where no
 * `remote.Command` can run (@pulumi/command 1.2.1 has no remote invoke).
 *
 * Standard input: JSON {"connection": {...}, "command": "...", "stdin": "..."}, where `connection` holds the fields of
 * the IIS target's `iis.connection` (host, port, user, password, privateKey, privateKeyPassword, agentSocketPath,
 * hostKey): it holds secrets, so it travels on stdin only, never on a command line or in the environment.
 * It signs in as `remote.Command` does, through ssh-connection.js (shared with the `server` re-seed runner).
 * Exit codes: the remote command's; 255 when the connection fails, with one line on stderr that names the server and
 * the reason (never a secret: the library's messages carry none, and the input is never printed).
 */
"use strict";
const { Client } = require("ssh2");
const { answerPrompts, connectOptions } = require("./ssh-connection.js");

function readStdin() {
    return new Promise((resolve, reject) => {
        let text = "";
        process.stdin.setEncoding("utf8");
        process.stdin.on("data", chunk => (text += chunk));
        process.stdin.on("end", () => resolve(text));
        process.stdin.on("error", reject);
    });
}

async function main() {
    let request;
    try {
        request = JSON.parse(await readStdin());
    } catch {
        process.stderr.write("ssh-run: could not read the JSON request on standard input\n");
        process.exit(2);
    }
    const { connection, command } = request;
    const server = `${connection.host}:${connection.port ?? 22}`;
    const client = new Client();
    client.on("error", err => {
        process.stderr.write(`ssh-run: could not run the command on ${server}: ${err.message}\n`);
        process.exit(255);
    });
    answerPrompts(client, connection);
    client.on("ready", () => {
        client.exec(command, (err, stream) => {
            if (err) {
                process.stderr.write(`ssh-run: could not start the command on ${server}: ${err.message}\n`);
                process.exit(255);
            }
            stream.on("data", chunk => process.stdout.write(chunk));
            stream.stderr.on("data", chunk => process.stderr.write(chunk));
            stream.on("close", code => {
                client.end();
                process.exitCode = typeof code === "number" ? code : 255;
            });
            stream.end(request.stdin ?? "");
        });
    });
    try {
        client.connect(connectOptions(connection));
    } catch (err) {
        process.stderr.write(`ssh-run: could not connect to ${server}: ${err.message}\n`);
        process.exit(255);
    }
}

main();
