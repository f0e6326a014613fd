import { strict as assert } from "assert";
import {
    builtImageName,
    CONTAINER_LABEL,
    CONTAINER_HEALTH_CHECK_TIMING,
    containerEnvironment,
    containerLabels,
    containerSettings,
    environmentEntries,
    defaultHostname,
    isLoopback,
    loopbackPublicUrlWarning,
    remoteDockerHost,
    RESTART_TOKEN_LABEL,
    serviceUrl,
    SETTINGS_FILE_PATH,
} from "../../src/targets/docker";

describe("Docker target rendering", () => {
    it("serves plain HTTP on port 80 inside the container by default, reading the Production settings file", () => {
        assert.deepEqual(containerEnvironment(), { ASPNETCORE_URLS: "http://+:80", ASPNETCORE_ENVIRONMENT: "Production" });
        assert.equal(SETTINGS_FILE_PATH, "/app/appsettings.Production.json");
    });

    it("adds Kestrel's HTTPS endpoint to the environment and its password to the settings file only", () => {
        assert.deepEqual(containerEnvironment({ port: 9443 }), {
            ASPNETCORE_URLS: "https://+:443;http://+:80",
            ASPNETCORE_HTTPS_PORT: "9443",
            ASPNETCORE_Kestrel__Certificates__Default__Path: "/app/tls-certificate.pfx",
            ASPNETCORE_ENVIRONMENT: "Production",
        });
        const configuration = [{ key: "DbProvider", value: "Postgres" }];
        assert.deepEqual(containerSettings(configuration, "pw"), [...configuration, { key: "Kestrel:Certificates:Default:Password", value: "pw" }]);
        assert.deepEqual(containerSettings(configuration, undefined), configuration);
        assert.deepEqual(containerSettings(configuration, ""), configuration);
    });

    it("writes every variable as one NAME=value entry, values with =, ; and newlines included", () => {
        assert.deepEqual(environmentEntries({ A: "a=b;c=d\nline2", B: "" }), ["A=a=b;c=d\nline2", "B="]);
    });

    it("reads the container's health check back as the Docker provider writes durations (Go's time.Duration.String)", () => {
        // kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container_funcs.go:960-969 @ v4.5.0
        assert.deepEqual(CONTAINER_HEALTH_CHECK_TIMING, { interval: "3s", timeout: "3s", startPeriod: "1m0s", retries: 3 });
    });

    it("forms the URL from the host name and the published port", () => {
        assert.equal(serviceUrl("localhost", 8090), "http://localhost:8090");
        assert.equal(serviceUrl("ids.example.com", 8090, 8443), "https://ids.example.com:8443");
    });

    it("tags built images per component and version with characters Docker accepts", () => {
        assert.equal(builtImageName("ids", "8.2.1"), "creatio-identity-service:8.2.1-ids");
        assert.equal(builtImageName("My IDS/Prod", "8.2.1"), "creatio-identity-service:8.2.1-my-ids-prod");
        assert.equal(builtImageName("__", "8.2.1"), "creatio-identity-service:8.2.1-default");
        assert.ok(builtImageName("x".repeat(300), "8.2.1").length <= 128);
    });

    it("labels the container with re-seeding's restart token only once there is one", () => {
        assert.deepEqual(containerLabels("ids", undefined), [{ label: CONTAINER_LABEL, value: "ids" }]);
        assert.deepEqual(containerLabels("ids", ""), [{ label: CONTAINER_LABEL, value: "ids" }]);
        assert.deepEqual(containerLabels("ids", "0123456789abcdef"), [
            { label: CONTAINER_LABEL, value: "ids" },
            { label: RESTART_TOKEN_LABEL, value: "0123456789abcdef" },
        ]);
    });
});

describe("Docker host and the URLs derived from it", () => {
    const daemons: [string | undefined, string | undefined][] = [
        [undefined, undefined],
        ["", undefined],
        ["unix:///var/run/docker.sock", undefined],
        ["npipe:////./pipe/docker_engine", undefined],
        ["tcp://127.0.0.1:2375", undefined],
        ["tcp://localhost:2375", undefined],
        ["tcp://[::1]:2375", undefined],
        ["ssh://deploy@docker1.example.com", "docker1.example.com"],
        ["ssh://deploy@docker1.example.com:2222", "docker1.example.com"],
        ["tcp://10.20.30.40:2376", "10.20.30.40"],
        ["tcp://[fd00::5]:2376", "fd00::5"],
        ["not a url", undefined],
    ];
    for (const [daemon, remote] of daemons) {
        it(`reads ${JSON.stringify(daemon)} as ${remote ? `the remote host ${remote}` : "this machine"}`, () => {
            assert.equal(remoteDockerHost(daemon), remote);
            assert.equal(defaultHostname(daemon), remote ?? "localhost");
        });
    }

    it("knows loopback names and addresses", () => {
        for (const host of ["localhost", "LOCALHOST", "ids.localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "0.0.0.0"]) {
            assert.equal(isLoopback(host), true, host);
        }
        for (const host of ["ids.example.com", "10.0.0.1", "fd00::5", "localhost.example.com"]) {
            assert.equal(isLoopback(host), false, host);
        }
    });

    it("warns only when a remote Docker host's service would be handed to Creatio as a loopback address", () => {
        const warning = loopbackPublicUrlWarning("ssh://deploy@docker1.example.com", "http://localhost:8090");
        assert.match(warning!, /remote Docker host docker1\.example\.com, but Creatio would receive http:\/\/localhost:8090/);
        assert.match(warning!, /set `publicUrl`.*"http:\/\/docker1\.example\.com:8090"/);
        assert.equal(loopbackPublicUrlWarning("ssh://deploy@docker1.example.com", "http://docker1.example.com:8090"), undefined);
        assert.equal(loopbackPublicUrlWarning(undefined, "http://localhost:8090"), undefined);
        assert.equal(loopbackPublicUrlWarning("unix:///var/run/docker.sock", "http://127.0.0.1:8090"), undefined);
    });
});
