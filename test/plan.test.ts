import "./support/mocks";
import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, LogLevel, ReseedRunner, RestartPolicy } from "../src";
import { planDeployment } from "../src/plan";
import { registered, resetMocks, settle, valueOf } from "./support/mocks";

/** The extracted IdentityService.zip of the test fixture service (it holds Dockerfile-OAuth). */
const BUILD_CONTEXT = path.join(__dirname, "fixtures", "identity-service");

const certificates = path.join(__dirname, "fixtures", "certificates");
const SECRET_CONNECTION = "Server=db;Database=creatio;User ID=u;Password=Very-Secret-Pw-8842;";

function valid(): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Docker,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: SECRET_CONNECTION },
        signingCertificate: { path: path.join(certificates, "signing.pfx") },
        docker: { build: { context: BUILD_CONTEXT } },
    };
}

/** A modification of valid arguments, the field the message must name, and a fragment of the fix. */
type Case = [string, (args: any) => void, string, RegExp];

const cases: Case[] = [
    ["unknown target", a => (a.target = "kubernetes"), "target", /"kubernetes" is not a deployment target; use DeploymentTarget\.Docker/],
    ["docker target without docker block", a => delete a.docker, "docker", /target is "docker" but `docker` is missing/],
    ["docker target with an iis block", a => (a.iis = { port: 8090 }), "iis", /is set but target is "docker"; remove `iis`/],
    ["version that is not a version", a => (a.creatioVersion = "latest"), "creatioVersion", /"latest" is not a Creatio version.*"8\.2\.1"/],
    ["version too old for the package", a => (a.creatioVersion = "7.15.0"), "creatioVersion", /not supported.*7\.16\.4 to 8\.3\.x/],
    ["profile that is not a version", a => ((a.creatioVersion = "10.0.0"), (a.profileVersion = "8.3")), "profileVersion", /"8\.3" is not a Creatio version; write it as major\.minor\.patch, for example "8\.3\.1"/],
    ["profile older than the tables", a => ((a.creatioVersion = "10.0.0"), (a.profileVersion = "7.15.0")), "profileVersion", /Creatio 7\.15\.0 is not a release this package knows; give one from 7\.16\.4 to 8\.3\.x, or leave it out/],
    ["profile newer than the tables", a => ((a.creatioVersion = "10.0.0"), (a.profileVersion = "9.0.0")), "profileVersion", /Creatio 9\.0\.0 is not a release this package knows; give one from 7\.16\.4 to 8\.3\.x/],
    ["profile newer than the version deployed", a => (a.profileVersion = "8.3.1"), "profileVersion", /8\.3\.1 is newer than creatioVersion 8\.2\.3: an archive has no keys of a later release; give a release no newer than 8\.2\.3, or leave it out/],
    ["profile not a string", a => ((a.creatioVersion = "10.0.0"), (a.profileVersion = 8.3)), "profileVersion", /8\.3 is not a version; give a known Creatio release as a string such as "8\.3\.1"/],
    ["profile without Docker for the Docker target", a => ((a.creatioVersion = "10.0.0"), (a.profileVersion = "8.0.7")), "creatioVersion", /Creatio 10\.0\.0 does not support the Docker deployment/],
    ["health check without CMD", a => (a.docker.healthCheck = ["curl", "-f", "http://localhost/"]), "docker.healthCheck", /is not a health check command; give Docker's `test` form, starting with "CMD" or "CMD-SHELL", .*or \["NONE"\] to turn health checking off/],
    ["empty health check", a => (a.docker.healthCheck = []), "docker.healthCheck", /is not a health check command/],
    ["health check CMD without a command", a => (a.docker.healthCheck = ["CMD"]), "docker.healthCheck", /"CMD" needs the command after it, like \["CMD", "\/probe"\]/],
    ["NONE health check with arguments", a => (a.docker.healthCheck = ["NONE", "x"]), "docker.healthCheck", /\["NONE"\] takes no arguments/],
    ["version too old for Docker", a => (a.creatioVersion = "8.0.7"), "creatioVersion", /does not support the Docker deployment \(Docker needs 8\.0\.8 or later\); use target "iis"/],
    ["version not a string", a => (a.creatioVersion = 8.2), "creatioVersion", /give the Creatio version as a string/],
    ["missing database", a => delete a.database, "database", /is missing; give `database\.provider`/],
    ["Oracle", a => (a.database.provider = "Oracle"), "database.provider", /Oracle is not supported.*separate PostgreSQL or SQL Server/],
    ["unknown provider", a => (a.database.provider = "MySql"), "database.provider", /"MySql" is not a known database provider; use one of "Postgres", "MsSqlServer"/],
    ["empty connection string", a => (a.database.connectionString = ""), "database.connectionString", /must not be empty/],
    ["blank connection string", a => (a.database.connectionString = "   "), "database.connectionString", /must not be empty/],
    ["both image and build", a => (a.docker.image = "ids:1"), "docker", /both `image` and `build` are set; give only one/],
    ["neither image nor build", a => delete a.docker.build, "docker", /neither `image` nor `build` is set/],
    ["port 0", a => (a.docker.httpPort = 0), "docker.httpPort", /0 is not a TCP port; use a whole number from 1 to 65535/],
    ["port 70000", a => (a.docker.httpPort = 70000), "docker.httpPort", /70000 is not a TCP port/],
    ["fractional port", a => (a.docker.httpPort = 80.5), "docker.httpPort", /80\.5 is not a TCP port/],
    ["HTTPS port out of range", a => (a.docker.https = { port: -1, certificate: { path: path.join(certificates, "tls.pfx") } }), "docker.https.port", /-1 is not a TCP port/],
    ["HTTPS port equal to HTTP port", a => (a.docker.https = { port: 8090, certificate: { path: path.join(certificates, "tls.pfx") } }), "docker.https.port", /8090 is also docker\.httpPort/],
    ["HTTPS without certificate", a => (a.docker.https = { port: 8443 }), "docker.https.certificate", /HTTPS needs a TLS certificate/],
    ["HTTPS certificate missing on disk", a => (a.docker.https = { certificate: { path: "/nonexistent/tls.pfx" } }), "docker.https.certificate.path", /does not exist or cannot be read/],
    ["container name with a space", a => (a.docker.containerName = "my ids"), "docker.containerName", /"my ids" is not a valid container name/],
    ["default container name invalid", a => void a, "docker.containerName (default: the component name)", /"bad name!" is not a valid container name/],
    ["hostname with underscore", a => (a.docker.hostname = "ids_host"), "docker.hostname", /"ids_host" is not a valid host name/],
    ["bind address not an IP", a => (a.docker.bindAddress = "localhost"), "docker.bindAddress", /"localhost" is not an IP address/],
    ["unknown restart policy", a => (a.docker.restart = "sometimes"), "docker.restart", /"sometimes" is not a known restart policy/],
    ["empty build context", a => (a.docker.build.context = ""), "docker.build.context", /must not be empty/],
    ["build context that does not exist", a => (a.docker.build.context = "/nonexistent/IdentityService"), "docker.build.context", /"\/nonexistent\/IdentityService" does not exist or is not a folder \(relative paths start at the program's working directory, .*\); give the folder IdentityService\.zip was extracted to/],
    ["build context that is a file", a => (a.docker.build.context = path.join(BUILD_CONTEXT, "Dockerfile-OAuth")), "docker.build.context", /is not a folder/],
    ["build context without Dockerfile-OAuth", a => (a.docker.build.context = certificates), "docker.build.context", /holds no Dockerfile-OAuth; give the folder IdentityService\.zip was extracted to/],
    ["build context without the named Dockerfile", a => (a.docker.build.dockerfile = "Dockerfile"), "docker.build.context", /holds no "Dockerfile" \(docker\.build\.dockerfile\); give the folder that has it/],
    ["connection string without a password", a => (a.database.connectionString = "Server=db;Port=5432;Database=creatio;User ID=creatio;"), "database.connectionString", /has no password; add "Password=\.\.\.;" for its User ID/],
    ["connection string that cannot be parsed", a => (a.database.connectionString = "Server=db;Password='Very-Secret-Pw-8842"), "database.connectionString", /cannot be parsed as "Key=Value;\.\.\." pairs; check its quoting/],
    ["re-seed connection string without a password", a => (a.database.reseedConnectionString = "Server=localhost;User ID=creatio"), "database.reseedConnectionString", /has no password/],
    ["Integrated Security with re-seeding", a => ((a.database.provider = "MsSqlServer"), (a.database.connectionString = "Data Source=sql;Initial Catalog=creatio;Integrated Security=SSPI")), "database.connectionString", /uses Integrated Security \(Windows authentication\), which client re-seeding cannot use.*give `database\.reseedConnectionString` with a database login.*or set `client\.reseed: false`/],
    ["Integrated Security in the re-seed connection string", a => (a.database.reseedConnectionString = "Server=sql;Database=creatio;Trusted_Connection=yes"), "database.reseedConnectionString", /uses Integrated Security.*give it a database login \(User ID and Password\) instead, or set `client\.reseed: false`/],
    ["unknown re-seed runner", a => (a.client = { reseedRunner: "ssh" }), "client.reseedRunner", /"ssh" is not a known re-seed runner; use one of "local", "container"/],
    ["container re-seed runner on IIS", a => ((a.target = DeploymentTarget.Iis), delete a.docker, (a.iis = { creatioPath: "C:\\Creatio", archivePath: "C:\\IdentityService.zip", port: 8090 }), (a.client = { reseedRunner: "container" })), "client.reseedRunner", /"container" runs re-seeding in a container next to a Docker or Swarm service, but target is "iis"; use "local"/],
    ["server re-seed runner on Docker", a => (a.client = { reseedRunner: "server" }), "client.reseedRunner", /"server" runs re-seeding on the IIS server through the IIS target's SSH connection, but target is "docker"; use "local" \(the machine that runs Pulumi, which must reach the database\) or "container" \(in a container next to a Docker or Swarm service\)/],
    ["server re-seed runner with PostgreSQL", a => ((a.target = DeploymentTarget.Iis), delete a.docker, (a.iis = { creatioPath: "C:\\Creatio", archivePath: "C:\\IdentityService.zip", port: 8090 }), (a.client = { reseedRunner: "server" })), "client.reseedRunner", /"server" re-seeds through the \.NET Framework's SqlClient on the IIS server, which has no PostgreSQL driver; use "local" \(the machine that runs Pulumi, which must reach the database\) for a PostgreSQL database/],
    ["server re-seed runner through an SSH proxy", a => ((a.target = DeploymentTarget.Iis), delete a.docker, (a.database.provider = "MsSqlServer"), (a.database.connectionString = "Server=sql;User ID=u;Password=p"), (a.iis = { creatioPath: "C:\\Creatio", archivePath: "C:\\IdentityService.zip", port: 8090, connection: { host: "iis", proxy: { host: "bastion" } } }), (a.client = { reseedRunner: "server" })), "client.reseedRunner", /"server" opens its own SSH session to the IIS server and cannot go through `iis\.connection\.proxy`; use "local"/],
    ["Integrated Security with the local runner on IIS", a => ((a.target = DeploymentTarget.Iis), delete a.docker, (a.iis = { creatioPath: "C:\\Creatio", archivePath: "C:\\IdentityService.zip", port: 8090 }), (a.database.provider = "MsSqlServer"), (a.database.connectionString = "Data Source=sql;Initial Catalog=creatio;Integrated Security=SSPI")), "database.connectionString", /which client re-seeding cannot use.*or re-seed on the IIS server, where Windows authentication works \(`client\.reseedRunner: "server"`\), or set `client\.reseed: false`/],
    ["re-seed runner with re-seeding off", a => (a.client = { reseed: false, reseedRunner: "container" }), "client.reseedRunner", /has no effect with `client\.reseed: false`; remove it, or turn re-seeding on/],
    ["re-seed image with re-seeding off", a => (a.client = { reseed: false, reseedImage: "node:24-alpine" }), "client.reseedImage", /has no effect with `client\.reseed: false`/],
    ["re-seed image without the container runner", a => (a.client = { reseedImage: "node:24-alpine" }), "client.reseedImage", /is the image of the "container" runner; set `client\.reseedRunner: "container"` or remove it/],
    ["re-seed image that is not an image reference", a => (a.client = { reseedRunner: "container", reseedImage: "Node 24 (alpine)" }), "client.reseedImage", /"Node 24 \(alpine\)" is not an image reference; give one as `docker pull` takes it, for example "node:24-alpine" or "registry\.example\.com\/tools\/node:24@sha256:<64 hex digits>"/],
    ["short client id", a => (a.client = { id: "short-id" }), "client.id", /"short-id" is too short: the Identity Service requires at least 16 characters/],
    ["short client secret", a => (a.client = { secret: "short-secret-value" }), "client.secret", /\(a secret value of 18 characters\) is too short.*at least 32/],
    ["client id over 100 characters", a => (a.client = { id: "i".repeat(101) }), "client.id", /"i{101}" is too long: the Identity Service accepts client ids of at most 100 characters \(IdentityServer4's input length limit\); supply a shorter value or leave it out to have one generated/],
    ["client secret over 100 characters", a => (a.client = { secret: `Very-Long-Secret-${"x".repeat(90)}` }), "client.secret", /- client\.secret: \(a secret value of 107 characters\) is too long: the Identity Service accepts client secrets of at most 100 characters/],
    ["empty client name", a => (a.client = { name: "" }), "client.name", /must not be empty/],
    ["Creatio URL not a URL", a => (a.client = { creatioUrl: "creatio.example.com" }), "client.creatioUrl", /is not an http\(s\) URL/],
    ["Creatio URL with another scheme", a => (a.client = { creatioUrl: "ftp://creatio" }), "client.creatioUrl", /is not an http\(s\) URL/],
    ["zero token lifetime", a => (a.client = { accessTokenLifetimeSeconds: 0 }), "client.accessTokenLifetimeSeconds", /0 is out of range/],
    ["rotation of a supplied signing certificate", a => (a.signingCertificate.rotation = "2"), "signingCertificate.rotation", /rotates a generated certificate only; remove it/],
    ["signing certificate password without a path", a => (a.signingCertificate = { password: "Sign-Pw-Secret-55" }), "signingCertificate.password", /is set but no PFX is: give the `path` or `pfxBase64` of the .pfx it opens/],
    ["signing certificate that does not exist", a => (a.signingCertificate.path = "/nonexistent/signing.pfx"), "signingCertificate.path", /does not exist or cannot be read/],
    ["signing certificate that is a folder", a => (a.signingCertificate.path = certificates), "signingCertificate.path", /is not a file/],
    ["signing certificate that is not a PFX", a => (a.signingCertificate.path = path.join(certificates, "not-a-pfx.pfx")), "signingCertificate.path", /is not a PFX \(PKCS#12\) file/],
    ["unknown log level", a => (a.logLevel = "Verbose"), "logLevel", /"Verbose" is not a known log level/],
    ["Redis before 8.0", a => ((a.target = DeploymentTarget.Iis), delete a.docker, (a.iis = {}), (a.creatioVersion = "7.18.5"), (a.redisConnection = "redis")), "redisConnection", /is supported from Creatio 8\.0\.0/],
    ["ForceHttpsSchemeInRequests before 8.3.1", a => (a.forceHttpsSchemeInRequests = true), "forceHttpsSchemeInRequests", /is supported from Creatio 8\.3\.1; remove it for 8\.2\.3/],
    ["publicUrl without a scheme", a => (a.publicUrl = "ids.example.com:8090"), "publicUrl", /is not an http\(s\) URL; write it like "http:\/\/ids\.example\.com:8090", the address at which Creatio reaches the service/],
    ["publicUrl with a query", a => (a.publicUrl = "http://ids.example.com:8090/?x=1"), "publicUrl", /has a query or fragment; give the service's base URL/],
    ["known networks, which the service cannot be given", a => (a.proxy = { knownNetworks: ["10.0.0.0/8"] }), "proxy.knownNetworks", /the Identity Service cannot be given known networks: ASP\.NET Core reads them from no configuration key, only from code, and the vendor documents none\. With forwarded headers on, the service trusts X-Forwarded-For and X-Forwarded-Proto from every sender; remove this field and make the service reachable only through the proxy/],
    ["known proxies, which the service cannot be given", a => (a.proxy = { forwardedHeaders: true, knownProxies: ["10.0.0.5"] }), "proxy.knownProxies", /cannot be given known proxies.*reachable only through the proxy/],
    ["a fixed issuer, which the service cannot be given", a => (a.issuerUri = "https://ids.example.com"), "issuerUri", /cannot be given a fixed issuer: the vendor documents no key for IdentityServer4's IssuerUri.*set `publicUrl` to the proxy's address; the proxy must pass the original Host header/],
    ["forwarded headers that are not a boolean", a => (a.proxy = { forwardedHeaders: "yes" }), "proxy.forwardedHeaders", /"yes" is not a boolean; give true or false/],
    ["forwarded headers on a runtime that does not read the switch", a => ((a.target = DeploymentTarget.Iis), delete a.docker, (a.iis = {}), (a.creatioVersion = "7.18.5"), (a.proxy = { forwardedHeaders: true })), "proxy.forwardedHeaders", /ASP\.NET Core reads ASPNETCORE_FORWARDEDHEADERS_ENABLED from 3\.0 on, and Creatio 7\.18\.5 runs the service on \.NET Core 2\.2; remove it, and behind a proxy that terminates TLS let the proxy forward to the site's own HTTPS binding \(`iis\.https`\)/],
    ["readiness timeout zero", a => (a.readiness = { timeoutSeconds: 0 }), "readiness.timeoutSeconds", /0 is out of range; use a whole number of seconds from 1 to 3600/],
    ["readiness timeout too long", a => (a.readiness = { timeoutSeconds: 7200 }), "readiness.timeoutSeconds", /7200 is out of range/],
];

describe("argument checks", () => {
    beforeEach(resetMocks);

    for (const [title, modify, field, fix] of cases) {
        it(`rejects ${title}, naming ${field}, before creating anything`, async () => {
            const args = valid();
            modify(args);
            const name = title === "default container name invalid" ? "bad name!" : `bad-${cases.findIndex(c => c[0] === title)}`;
            const before = registered.length;
            assert.throws(
                () => new IdentityService(name, args),
                (error: Error) => {
                    assert.ok(error.message.includes(`- ${field}: `), `message names ${field}:\n${error.message}`);
                    assert.match(error.message, fix);
                    assert.ok(!error.message.includes("Very-Secret-Pw-8842"), "no secret in the message");
                    assert.ok(!error.message.includes("short-secret-value"), "no secret in the message");
                    assert.ok(!error.message.includes("Sign-Pw-Secret-55"), "no secret in the message");
                    assert.ok(!error.message.includes("Very-Long-Secret-"), "no secret in the message");
                    return true;
                },
            );
            await settle();
            const children = registered.slice(before).filter(r => r.type !== "creatio-identity-service:index:IdentityService");
            assert.deepEqual(children, [], "no child resource was registered");
        });
    }

    it("reports every problem at once", () => {
        const args: any = valid();
        args.docker.httpPort = 0;
        args.client = { id: "short" };
        args.logLevel = "Loud";
        assert.throws(() => planDeployment("many", args), (error: Error) => {
            assert.match(error.message, /^IdentityService "many" has invalid arguments:\n/);
            assert.equal(error.message.split("\n- ").length - 1, 3);
            return true;
        });
    });

    it("rejects missing arguments outright", () => {
        assert.throws(() => planDeployment("none", undefined as any), /no arguments were given/);
    });

    it("checks Output values when they resolve, with the same message, in one place", async () => {
        const args = valid();
        args.docker = { build: { context: BUILD_CONTEXT }, httpPort: pulumi.output(99999) };
        args.client = { id: pulumi.output("short-late-id") };
        const plan = planDeployment("late", args);
        await assert.rejects(valueOf(plan.argumentsResolved!), (error: Error) => {
            assert.equal(
                error.message,
                'IdentityService "late" has invalid arguments:\n' +
                    '- client.id: "short-late-id" is too short: the Identity Service requires at least 16 characters; supply a longer value or leave it out to have one generated\n' +
                    "- docker.httpPort: 99999 is not a TCP port; use a whole number from 1 to 65535",
            );
            return true;
        });
        assert.equal(await valueOf(plan.docker!.httpPort), 99999, "the value itself does not fail: the check does, once");
    });

    it("resolves when late values are fine, and is not needed when every value was known", async () => {
        const args = valid();
        args.docker = { build: { context: BUILD_CONTEXT }, httpPort: pulumi.output(8095) };
        assert.deepEqual(await valueOf(planDeployment("fine", args).argumentsResolved!), []);
        assert.equal(planDeployment("known", valid()).argumentsResolved, undefined);
    });

    it("throws a pulumi.InputPropertiesError with one entry per field except secrets (the engine prints an entry's value)", () => {
        const args: any = valid();
        args.docker.httpPort = 0;
        args.docker.containerName = "bad name";
        args.client = { secret: "short-secret-value" };
        assert.throws(() => planDeployment("typed", args), (error: any) => {
            assert.equal(pulumi.InputPropertiesError.isInstance(error), true);
            // client.secret holds a secret even when given as a plain string: the message names it, no entry does.
            assert.deepEqual(error.errors, [
                { propertyPath: "docker.httpPort", reason: "0 is not a TCP port; use a whole number from 1 to 65535" },
                { propertyPath: "docker.containerName", reason: '"bad name" is not a valid container name; use letters, digits, "_", "." and "-", starting with a letter or digit' },
            ]);
            assert.match(error.message, /^IdentityService "typed" has invalid arguments:\n- client\.secret: \(a secret value of 18 characters\) is too short/);
            return true;
        });
        assert.throws(() => planDeployment("default-name!", { ...valid(), docker: { build: { context: BUILD_CONTEXT } } }), (error: any) => {
            assert.deepEqual(error.errors.map((e: any) => e.propertyPath), ["docker.containerName"], "the path without the explanation");
            assert.match(error.message, /- docker\.containerName \(default: the component name\): /);
            return true;
        });
    });

    it("applies the documented defaults", async () => {
        const plan = planDeployment("defaults", valid());
        assert.equal(plan.docker!.httpPort, 8090);
        assert.equal(plan.docker!.hostname, undefined, "derived from the Docker host when the service is deployed");
        assert.equal(plan.publicUrl, undefined, "the target's url");
        assert.equal(plan.docker!.bindAddress, "0.0.0.0");
        assert.equal(plan.docker!.restart, RestartPolicy.UnlessStopped);
        assert.equal(plan.docker!.containerName, "defaults");
        assert.equal(plan.docker!.build!.dockerfile, "Dockerfile-OAuth");
        assert.equal(plan.logLevel, LogLevel.Warning);
        assert.equal(plan.client.name, "Creatio");
        assert.equal(plan.client.accessTokenLifetimeSeconds, 3600);
        assert.equal(plan.client.reseed, true);
        assert.deepEqual(plan.readiness, {
            enabled: true,
            timeoutSeconds: 300,
            verifyToken: true,
            verifyIssuer: undefined, // the gate's own default: on
            caCertificate: undefined, // the system's roots only
            // What Creatio 8.2.3's system actions ask the service for (versions.ts), so the gate meets its scope rules.
            tokenScopes: [
                "register_own_resource",
                "get_resource_list",
                "get_client_info",
                "find_clients",
                "remove_client",
                "update_client",
                "add_registrar_client",
                "IdentityServerApi",
            ],
        });
    });

    it("takes the client's redirect base from creatio.url, unless client.creatioUrl is given", () => {
        const creatio = { url: "https://creatio.example.com", username: "Supervisor", password: "pw", runtime: "netFramework" } as const;
        assert.equal(planDeployment("derived", { ...valid(), creatio }).client.creatioUrl, "https://creatio.example.com");
        assert.equal(
            planDeployment("given", { ...valid(), creatio, client: { creatioUrl: "https://crm.example.com" } }).client.creatioUrl,
            "https://crm.example.com",
        );
        assert.equal(planDeployment("none", valid()).client.creatioUrl, undefined, "no Creatio URL: the client gets no browser grant");
    });

    it("accepts forwarded headers and the issuer check on the IIS target, as on the others", () => {
        const args = valid();
        args.target = DeploymentTarget.Iis;
        delete args.docker;
        args.iis = { creatioPath: "C:\\Creatio", archivePath: "C:\\Creatio\\IdentityService.zip", port: 8090 };
        args.creatioVersion = "8.3.1";
        args.proxy = { forwardedHeaders: true };
        args.readiness = { verifyIssuer: true };
        const plan = planDeployment("iis-proxy", args);
        assert.equal(plan.forwardedHeaders, true);
        assert.equal(plan.readiness.verifyIssuer, true);
    });

    it("accepts Integrated Security for re-seeding on the IIS server (the server runner), in either connection string", () => {
        const integrated = "Data Source=sql;Initial Catalog=creatio;Integrated Security=SSPI";
        const base: IdentityServiceArgs = {
            ...valid(),
            target: DeploymentTarget.Iis,
            docker: undefined,
            iis: { creatioPath: "C:\\Creatio", archivePath: "C:\\IdentityService.zip", port: 8090 },
            database: { provider: DatabaseProvider.MsSqlServer, connectionString: integrated },
            client: { reseedRunner: ReseedRunner.Server },
        };
        assert.equal(planDeployment("server", base).client.reseedRunner, ReseedRunner.Server);
        assert.doesNotThrow(() => planDeployment("server-own", { ...base, database: { ...base.database!, reseedConnectionString: "Server=sql;Trusted_Connection=yes" } }));
        // The local runner on the same target still refuses it.
        assert.throws(() => planDeployment("local", { ...base, client: {} }), /Integrated Security/);
    });

    it("accepts Integrated Security for the service when re-seeding is off or has its own login", () => {
        const integrated = "Data Source=sql;Initial Catalog=creatio;Integrated Security=SSPI";
        const base = valid();
        base.database = { provider: DatabaseProvider.MsSqlServer, connectionString: integrated };
        assert.doesNotThrow(() => planDeployment("no-reseed", { ...base, client: { reseed: false } }));
        assert.doesNotThrow(() =>
            planDeployment("own-login", { ...base, database: { ...base.database, reseedConnectionString: "Server=sql;User ID=u;Password=p" } }),
        );
    });

    it("checks a connection string from a secret when it resolves, without quoting it", async () => {
        const args = valid();
        args.database.connectionString = pulumi.secret("Server=db;Port=5432;Database=creatio;User ID=creatio;");
        await assert.rejects(valueOf(planDeployment("late-conn", args).argumentsResolved!), (error: Error) => {
            assert.match(error.message, /^IdentityService "late-conn" has invalid arguments:\n- database\.connectionString: has no password/);
            assert.ok(!error.message.includes("User ID=creatio"));
            return true;
        });
    });

    for (const version of ["7.16.4", "8.2.2", "8.2.3"]) {
        it(`generates a signing certificate when none is given (${version})`, () => {
            const args = valid();
            args.creatioVersion = version;
            if (version.startsWith("7.")) {
                args.target = DeploymentTarget.Iis;
                delete args.docker;
                args.iis = { creatioPath: "C:\\Creatio", archivePath: "C:\\Creatio\\IdentityService.zip", port: 8090 };
            }
            delete args.signingCertificate;
            assert.deepEqual(planDeployment("generated", args).signingCertificate, { kind: "generated", rotation: undefined });
        });
    }
});
