// The Identity Service on a Docker Swarm: three replicas behind the routing mesh, rolled one task at a time, with a
// Redis service of the component for the data-protection key the replicas share. The connection string, the client
// secret and the signing certificate reach the tasks as Docker secrets, never in the service spec. With an HTTPS
// certificate in the configuration, the tasks serve HTTPS too, published on port 8443.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "creatio-identity-service";

const config = new pulumi.Config();
// A .pfx for Kestrel's HTTPS endpoint, and the PEM of the private CA that issued it, if one did (for the readiness gate).
const httpsCertificate = config.get("httpsCertificate");
const caCertificateFile = config.get("caCertificateFile");

const identityService = new IdentityService("identity-service", {
    target: DeploymentTarget.Swarm,
    creatioVersion: config.get("creatioVersion") ?? "8.2.3",
    database: {
        provider: DatabaseProvider.Postgres,
        // Creatio's own connection string; `Maximum Pool Size` bounds each task's pool.
        connectionString: config.requireSecret("connectionString"),
    },
    client: { creatioUrl: config.get("creatioUrl") },
    swarm: {
        // An image every node can pull: push the one built from IdentityService.zip to your registry first.
        image: config.require("image"),
        replicas: 3,
        httpPort: 8090,
        redis: { image: config.get("redisImage") ?? "redis:7-alpine" },
        // PostgreSQL's max_connections minus what Creatio itself uses.
        maxDatabaseConnections: config.getNumber("maxDatabaseConnections"),
        resources: { memoryLimitMb: 512 },
        https: httpsCertificate ? { port: 8443, certificate: { path: httpsCertificate, password: config.getSecret("httpsCertificatePassword") } } : undefined,
    },
    readiness: caCertificateFile ? { caCertificate: fs.readFileSync(caCertificateFile, "utf8") } : undefined,
});

export const url = identityService.url;
export const clientId = identityService.clientId;
export const clientSecret = identityService.clientSecret;
export const creatioSystemSettings = identityService.creatioSystemSettings;
