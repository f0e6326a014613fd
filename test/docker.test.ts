import { strict as assert } from "assert";
import { builtImageName, CONTAINER_LABEL, containerEnvironment, containerLabels, RESTART_TOKEN_LABEL, serviceUrl } from "../src/docker";

describe("Docker target rendering", () => {
    it("serves plain HTTP on port 80 inside the container by default", () => {
        assert.deepEqual(containerEnvironment([{ key: "DbProvider", value: "Postgres" }]), ["ASPNETCORE_URLS=http://+:80", "DbProvider=Postgres"]);
    });

    it("adds Kestrel's HTTPS settings, with the password only when there is one", () => {
        const withPassword = containerEnvironment([], { port: 9443, certificatePassword: "pw" });
        assert.deepEqual(withPassword, [
            "ASPNETCORE_URLS=https://+:443;http://+:80",
            "ASPNETCORE_HTTPS_PORT=9443",
            "ASPNETCORE_Kestrel__Certificates__Default__Path=/app/tls-certificate.pfx",
            "ASPNETCORE_Kestrel__Certificates__Default__Password=pw",
        ]);
        assert.ok(!containerEnvironment([], { port: 9443 }).some(e => e.includes("Password")));
    });

    it("keeps values with =, ; and newlines inside one entry each", () => {
        const env = containerEnvironment([{ key: "DatabaseConnectionString", value: "a=b;c=d\nline2" }]);
        assert.equal(env.length, 2);
        assert.equal(env[1], "DatabaseConnectionString=a=b;c=d\nline2");
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
