import "./support/mocks";
import { strict as assert } from "assert";
import * as path from "path";
import * as docker from "@pulumi/docker";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, IisDeployment } from "../src";
import { registered, resetMocks, settle } from "./support/mocks";

/** The extracted IdentityService.zip of the test fixture service (it holds Dockerfile-OAuth). */
const BUILD_CONTEXT = path.join(__dirname, "fixtures", "identity-service");

const signing = path.join(__dirname, "fixtures", "certificates", "signing.pfx");

function args(dockerSettings: IdentityServiceArgs["docker"]): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Docker,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: "Server=db;User ID=ids;Password=pw;" },
        signingCertificate: { path: signing },
        docker: dockerSettings,
    };
}

function iis(settings: Partial<IisDeployment>): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Iis,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.MsSqlServer, connectionString: "Server=db;User ID=ids;Password=pw;" },
        signingCertificate: { path: signing },
        iis: { creatioPath: "C:\\Creatio", archivePath: "C:\\Creatio\\IdentityService.zip", port: 8090, ...settings },
    };
}

describe("collisions between instances in one program", () => {
    beforeEach(resetMocks);

    it("rejects a second instance on the same host port, naming both instances, before creating anything", async () => {
        new IdentityService("first", args({ build: { context: BUILD_CONTEXT } }));
        const before = registered.length;
        assert.throws(
            () => new IdentityService("second", args({ build: { context: BUILD_CONTEXT } })),
            (error: Error) => {
                assert.match(error.message, /IdentityService "second" has invalid arguments/);
                assert.match(error.message, /- docker\.httpPort: host port 8090 on the default Docker host is already taken by IdentityService "first" \(its docker\.httpPort\)/);
                assert.match(error.message, /give IdentityService "second" and IdentityService "first" different values/);
                return true;
            },
        );
        await settle();
        assert.deepEqual(registered.slice(before).filter(r => r.name.startsWith("second-")), []);
    });

    it("rejects the same container name, and an HTTPS port equal to another instance's HTTP port", () => {
        new IdentityService("one", args({ build: { context: BUILD_CONTEXT }, containerName: "ids", httpPort: 9001 }));
        assert.throws(
            () => new IdentityService("two", args({ build: { context: BUILD_CONTEXT }, containerName: "ids", httpPort: 9002 })),
            /docker\.containerName: container name "ids" on the default Docker host is already taken by IdentityService "one"/,
        );
        assert.throws(
            () =>
                new IdentityService(
                    "three",
                    args({
                        build: { context: BUILD_CONTEXT },
                        httpPort: 9003,
                        https: { port: 9001, certificate: { path: path.join(__dirname, "fixtures", "certificates", "tls.pfx"), password: "tls-test-password" } },
                    }),
                ),
            /docker\.https\.port: host port 9001 .* already taken by IdentityService "one" \(its docker\.httpPort\)/,
        );
    });

    it("allows the same port and name on two different Docker hosts", () => {
        const remote = new docker.Provider("remote", { host: "ssh://ops@docker-2.example.com" });
        new IdentityService("local", args({ build: { context: BUILD_CONTEXT } }));
        assert.doesNotThrow(() => new IdentityService("remote", args({ build: { context: BUILD_CONTEXT } }), { providers: [remote] }));
        assert.throws(
            () => new IdentityService("remote-2", args({ build: { context: BUILD_CONTEXT }, containerName: "remote" }), { providers: { docker: remote } }),
            /on the Docker host of provider "remote" #\d+ is already taken by IdentityService "remote"/,
        );
    });

    it("starts afresh in a new program run", () => {
        new IdentityService("again", args({ build: { context: BUILD_CONTEXT } }));
        resetMocks();
        assert.doesNotThrow(() => new IdentityService("again-2", args({ build: { context: BUILD_CONTEXT } })));
    });

    it("rejects two IIS instances on one server with the same port, site, pool or folder, names compared without case", () => {
        const connection = { host: "ids.example.com", user: "deploy" };
        new IdentityService("creatio-a", iis({ connection, siteName: "IDS", appPoolName: "IDSPool", installPath: "C:\\Creatio\\IdentityService" }));
        assert.throws(
            () => new IdentityService("creatio-b", iis({ connection, port: 8091 })),
            /iis\.installPath: folder c:\\creatio\\identityservice on the IIS server ids\.example\.com is already taken by IdentityService "creatio-a"/,
        );
        const error = (() => {
            try {
                new IdentityService("creatio-c", iis({ connection, siteName: "ids", appPoolName: "idspool", installPath: "D:\\ids" }));
            } catch (e) {
                return (e as Error).message;
            }
            return "";
        })();
        assert.match(error, /- iis\.siteName: site "ids" .* IdentityService "creatio-a" \(its iis\.siteName\)/);
        assert.match(error, /- iis\.appPoolName: application pool "idspool" .* IdentityService "creatio-a"/);
        assert.match(error, /- iis\.port: port 8090 on the IIS server ids\.example\.com is already taken by IdentityService "creatio-a"/);
    });

    it("allows the same IIS settings on another server, and on the local server next to an SSH one", () => {
        new IdentityService("east", iis({ connection: { host: "east.example.com" } }));
        assert.doesNotThrow(() => new IdentityService("west", iis({ connection: { host: "west.example.com" }, siteName: "IdentityService-east", appPoolName: "IdentityService-east" })));
        assert.doesNotThrow(() => new IdentityService("local", iis({})));
        assert.throws(() => new IdentityService("local-2", iis({ installPath: "C:\\Creatio\\IdentityService\\" })), /on the local IIS server is already taken by IdentityService "local"/);
    });
});
