// The Identity Service as an IIS site next to Creatio on a Windows server, deployed over SSH.
// Every step runs on the server through its OpenSSH server; secrets travel on the commands' standard input.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, LogLevel } from "creatio-identity-service";

const config = new pulumi.Config();
const creatioVersion = config.get("creatioVersion") ?? "8.2.3";
const host = config.require("host");

const identityService = new IdentityService("identity-service", {
    target: DeploymentTarget.Iis,
    creatioVersion,
    database: {
        provider: DatabaseProvider.MsSqlServer,
        // The same connection string Creatio uses (ConnectionStrings.config), as the server reaches the database.
        connectionString: config.requireSecret("connectionString"),
        // Client re-seeding runs on this machine: give the database as this machine reaches it, when that differs.
        reseedConnectionString: config.getSecret("reseedConnectionString"),
    },
    client: { creatioUrl: config.get("creatioUrl") },
    // Your own token-signing certificate, on this machine, if you have one (its bytes are written next to the service
    // on the server); otherwise the package generates one for this instance.
    signingCertificate: config.get("signingCertificatePath")
        ? { path: config.require("signingCertificatePath"), password: config.getSecret("signingCertificatePassword") }
        : undefined,
    logLevel: LogLevel.Information,
    iis: {
        connection: {
            host,
            user: config.get("user") ?? "Administrator",
            privateKey: fs.readFileSync(config.require("privateKeyPath"), "utf8"),
            hostKey: config.get("hostKey"),
        },
        creatioPath: config.get("creatioPath") ?? "C:\\Creatio",
        archivePath: config.get("archivePath") ?? "C:\\Creatio\\IdentityService.zip",
        port: config.getNumber("port") ?? 8090,
        // Set both to serve HTTPS as well, with a certificate already in LocalMachine\My on the server.
        https: config.get("httpsCertificateThumbprint")
            ? { port: config.getNumber("httpsPort") ?? 8443, certificateThumbprint: config.require("httpsCertificateThumbprint") }
            : undefined,
        // Only for debugging: the ASP.NET Core Module's stdout log under <install folder>\logs.
        stdoutLog: { enabled: config.getBoolean("stdoutLog") ?? false },
    },
    readiness: { timeoutSeconds: 300 },
});

export const url = identityService.url;
export const clientId = identityService.clientId;
export const clientSecret = identityService.clientSecret;
export const creatioSystemSettings = identityService.creatioSystemSettings;
