// ssh-run.js, the transport of the IIS drift read-back over SSH: a failure to connect exits 255 with one line naming
// the server and the reason, and never the connection's secrets; malformed input exits 2 without echoing it. (Its
// successful runs go over a real OpenSSH server in test/iisDrift.pwsh.test.ts.)
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as net from "net";
import { scriptPath } from "../../src/packagedScripts";

const PASSWORD = "Ssh-Run-Secret-5512";
const KEY_PASSWORD = "Ssh-Run-Key-Secret-7781";

function run(stdin: string) {
    return spawnSync(process.execPath, [scriptPath("ssh-run.js")], { input: stdin, encoding: "utf8", timeout: 60_000 });
}

/** A port nothing listens on: bound, then closed again. */
function closedPort(): Promise<number> {
    return new Promise(resolve => {
        const server = net.createServer().listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

describe("ssh-run.js (the drift read-back's SSH transport)", () => {
    it("exits 255 naming the server when it cannot connect, without any secret of the connection", async () => {
        const port = await closedPort();
        const result = run(JSON.stringify({ connection: { host: "127.0.0.1", port, user: "deploy", password: PASSWORD, privateKeyPassword: KEY_PASSWORD }, command: "whoami", stdin: "" }));
        assert.equal(result.status, 255);
        assert.match(result.stderr, new RegExp(`^ssh-run: could not run the command on 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
        for (const secret of [PASSWORD, KEY_PASSWORD]) {
            assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
        }
    });

    it("refuses a host key that is not an OpenSSH public key, naming connection.hostKey", () => {
        const result = run(JSON.stringify({ connection: { host: "127.0.0.1", hostKey: "not a key", password: PASSWORD }, command: "whoami" }));
        assert.equal(result.status, 255);
        assert.match(result.stderr, /^ssh-run: could not connect to 127\.0\.0\.1:22: connection\.hostKey is not an OpenSSH public key/);
        assert.ok(!result.stderr.includes(PASSWORD));
    });

    it("exits 2 on input that is not JSON, without echoing it", () => {
        const result = run(`{"connection": {"password": "${PASSWORD}"`);
        assert.equal(result.status, 2);
        assert.equal(result.stderr, "ssh-run: could not read the JSON request on standard input\n");
    });
});
