import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { IdentityServiceCreatio } from "./creatioArgs";

/**
 * Where the Identity Service runs.
 */
export const DeploymentTarget = {
    /**
     * A Docker container built from the extracted `IdentityService.zip` (or a prebuilt image). Creatio 8.0.8 and later.
     */
    Docker: "docker",
    /**
     * An IIS site and application pool on a Windows server. Creatio 7.16.4 and later.
     */
    Iis: "iis",
    /**
     * A Docker Swarm service with several replicas behind one address, rolled one task at a time. Creatio 8.0.8 and later.
     */
    Swarm: "swarm",
} as const;
/**
 * Where the Identity Service runs.
 * Accepts the members of `DeploymentTarget` or their string values.
 */
export type DeploymentTarget = (typeof DeploymentTarget)[keyof typeof DeploymentTarget];

/**
 * Where client re-seeding runs.
 */
export const ReseedRunner = {
    /**
     * On the machine that runs Pulumi, which then needs a network path to the database.
     */
    Local: "local",
    /**
     * In a one-shot container on the Docker host, on the service's networks: it reaches the database as the service does
     * (Docker and Swarm targets). Needs the `docker` CLI on the machine that runs Pulumi.
     */
    Container: "container",
    /**
     * On the IIS server, through the IIS target's own SSH connection (`iis.connection`; without one, on the machine that
     * runs Pulumi, where the IIS server is): the statements run in Windows PowerShell through the .NET Framework's
     * System.Data.SqlClient, so the database is reached from the server and Integrated Security signs in as the SSH
     * user (IIS target, SQL Server only).
     */
    Server: "server",
} as const;
/**
 * Where client re-seeding runs.
 * Accepts the members of `ReseedRunner` or their string values.
 */
export type ReseedRunner = (typeof ReseedRunner)[keyof typeof ReseedRunner];

/**
 * The database engine the Identity Service stores its clients in (normally Creatio's own database).
 */
export const DatabaseProvider = {
    /**
     * PostgreSQL.
     */
    Postgres: "Postgres",
    /**
     * Microsoft SQL Server.
     */
    MsSqlServer: "MsSqlServer",
} as const;
/**
 * The database engine the Identity Service stores its clients in (normally Creatio's own database).
 * Accepts the members of `DatabaseProvider` or their string values.
 */
export type DatabaseProvider = (typeof DatabaseProvider)[keyof typeof DatabaseProvider];

/**
 * The service's default log level (`Logging:LogLevel:Default`).
 */
export const LogLevel = {
    /**
     * Everything, including sensitive protocol details: debugging only.
     */
    Trace: "Trace",
    /**
     * Debugging detail.
     */
    Debug: "Debug",
    /**
     * General flow of the service.
     */
    Information: "Information",
    /**
     * Unexpected events that do not stop the service.
     */
    Warning: "Warning",
    /**
     * Failures of a request or operation.
     */
    Error: "Error",
    /**
     * Failures that stop the service.
     */
    Critical: "Critical",
    /**
     * No logging.
     */
    None: "None",
} as const;
/**
 * The service's default log level (`Logging:LogLevel:Default`).
 * Accepts the members of `LogLevel` or their string values.
 */
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/**
 * Docker restart policy of the Identity Service container.
 */
export const RestartPolicy = {
    /**
     * Never restart.
     */
    No: "no",
    /**
     * Restart only when the service exits with an error.
     */
    OnFailure: "on-failure",
    /**
     * Always restart, including after the Docker daemon restarts.
     */
    Always: "always",
    /**
     * Always restart unless the container was stopped by hand.
     */
    UnlessStopped: "unless-stopped",
} as const;
/**
 * Docker restart policy of the Identity Service container.
 * Accepts the members of `RestartPolicy` or their string values.
 */
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];

/**
 * The database the Identity Service stores its clients in.
 */
export interface Database {
    /**
     * The database engine. Oracle is not supported by the Identity Service: deploy a separate PostgreSQL or SQL Server database for it.
     */
    provider: DatabaseProvider;
    /**
     * The connection string, the same as the `connectionString` attribute of Creatio's `ConnectionStrings.config`
     * (for example `Server=db;Port=5432;Database=creatio;User ID=creatio;Password=...;`). The user needs permission to
     * create and update tables. Treated as a secret.
     */
    connectionString: pulumi.Input<string>;
    /**
     * The connection string client re-seeding signs in with: a login that holds only the grants re-seeding needs
     * (docs/reseed.md), and, with the `local` runner, the address at which the machine that runs Pulumi reaches the
     * database when it differs from the service's (for example a port published on localhost while the service uses a
     * private Docker network). Treated as a secret. Default: `connectionString`.
     */
    reseedConnectionString?: pulumi.Input<string>;
}

/**
 * The Identity Service's system client: the OAuth client Creatio uses to talk to the service.
 */
export interface Client {
    /**
     * The client id. Default: 16 random characters of `[A-Za-z0-9]`, generated once and kept in state.
     * A supplied id must have from 16 to 100 characters (the service ignores a longer one).
     */
    id?: pulumi.Input<string>;
    /**
     * The client's display name. Default: `Creatio`.
     */
    name?: pulumi.Input<string>;
    /**
     * The client secret. Default: 32 random characters of `[A-Za-z0-9]`, generated once and kept in state.
     * A supplied secret must have from 32 to 100 characters (the service ignores a longer one). Treated as a secret.
     */
    secret?: pulumi.Input<string>;
    /**
     * Any value; changing it generates a new client id and secret (only those that are generated, not supplied ones).
     * Setting it for the first time is a change too: it generates new ones. With re-seeding on, the old credentials
     * keep working until the new ones are in service. Default: none.
     */
    rotation?: pulumi.Input<string>;
    /**
     * Creatio's URL as browsers reach it (for example `https://creatio.example.com`). With a URL the client is granted
     * `implicit` and `client_credentials`, with the redirect URIs `<url>`, `<url>/lib`, `<url>/lib/` and the post-logout
     * redirect URI `<url>`, as in the vendor's example; without one it is granted `client_credentials` only, which is all
     * Creatio's server uses it for (the Identity Service drops an `implicit` client that has no redirect URI). Default:
     * `creatio.url` when the `creatio` block is set, else none.
     */
    creatioUrl?: pulumi.Input<string>;
    /**
     * Lifetime of issued access tokens, in seconds. Default: 3600.
     */
    accessTokenLifetimeSeconds?: pulumi.Input<number>;
    /**
     * Keep the client in the database equal to its configuration, whatever rule the service seeds by (a missing client,
     * or only an empty table): before the service restarts, a missing client is inserted, a client whose stored fields
     * differ is replaced by the configured one in the same transaction (and the service restarted, dropping any cached
     * copy), a new secret is added next to the old one; once the new client is in service, the credentials it replaced
     * are retired. Runs where `reseedRunner` says. Default: true.
     */
    reseed?: boolean;
    /**
     * Where client re-seeding runs: `local` on the machine that runs Pulumi (which then needs a network path to the
     * database), `container` in a one-shot container of `reseedImage` on the Docker host, on the service's networks
     * (Docker and Swarm targets; needs the `docker` CLI on the machine that runs Pulumi), so that only the service's
     * network reaches the database, or `server` on the IIS server through `iis.connection` (IIS target, SQL Server;
     * the .NET Framework's SqlClient, so Integrated Security signs in as the SSH user). Switching is an update of the two re-seed steps and restarts nothing. See
     * docs/reseed.md. Default: `local`.
     */
    reseedRunner?: ReseedRunner;
    /**
     * The image of the `container` runner: any image with Node.js 18 or later as `node` on its `PATH`, which the
     * Docker host has or can pull; the re-seed script is copied into it with its database drivers. Pin it by digest
     * (`node:24-alpine@sha256:...`) in production. Default: `node:24-alpine`.
     */
    reseedImage?: pulumi.Input<string>;
}

/**
 * The certificate the Identity Service signs its tokens with (`X509CertificatePath`). One per instance: by default a
 * self-signed RSA certificate is generated for the instance. To use your own, give exactly one source: a `.pfx` file's
 * `path`, its bytes as `pfxBase64`, or `certificatePem` with `privateKeyPem`. The values suit Pulumi ESC, `pulumi
 * config set --secret` and other resources' outputs; every form is opened on the machine that runs Pulumi (a wrong
 * password, a key that is not RSA or does not belong to the certificate is an error before anything is created) and
 * reaches the service as a PFX without a password, as a secret. The key must be RSA: the service signs with RS256.
 */
export interface SigningCertificate {
    /**
     * Path of your own `.pfx` file on the machine that runs Pulumi, relative to the program's working directory.
     * Default: a certificate generated for this instance (RSA 2048, self-signed, valid ten years), its private key
     * kept only in state, as a secret.
     */
    path?: pulumi.Input<string>;
    /**
     * The bytes of a `.pfx` file as base64 (`base64 -w0 signing.pfx`), for a PFX kept in a secret store rather than a
     * file. Treated as a secret. Default: none.
     */
    pfxBase64?: pulumi.Input<string>;
    /**
     * The password of the PFX given by `path` or `pfxBase64`, if it has one. It is used only on the machine that runs
     * Pulumi, so no password travels further. Not allowed with `privateKeyPem`. Treated as a secret. Default: none.
     */
    password?: pulumi.Input<string>;
    /**
     * The certificate as PEM (`-----BEGIN CERTIFICATE-----`), for example a `tls.SelfSignedCert`'s or
     * `tls.LocallySignedCert`'s `certPem`; with `privateKeyPem`. Other certificates after it are ignored. Default: none.
     */
    certificatePem?: pulumi.Input<string>;
    /**
     * The certificate's RSA private key as unencrypted PEM (PKCS#1 or PKCS#8), for example a `tls.PrivateKey`'s
     * `privateKeyPem`; with `certificatePem`. Treated as a secret. Default: none.
     */
    privateKeyPem?: pulumi.Input<string>;
    /**
     * Any value; changing it generates a new signing key and certificate (generated certificates only: not allowed
     * with your own certificate). Tokens signed with the old key are no longer accepted. Default: none.
     */
    rotation?: pulumi.Input<string>;
}

/**
 * A TLS certificate for Kestrel's HTTPS endpoint inside the container (not the token-signing certificate). Give
 * exactly one source: a `.pfx` file's `path`, its bytes as `pfxBase64`, or `certificatePem` with `privateKeyPem`.
 * Every form is opened on the machine that runs Pulumi before anything is created (a wrong password, an unreadable
 * certificate, a key that does not belong to it, a key Kestrel cannot serve with, or an extended key usage without
 * serverAuth is an error) and reaches the container as a file, a secret. The key may be RSA or EC (ECDSA).
 */
export interface TlsCertificate {
    /**
     * Path of a `.pfx` file on the machine that runs Pulumi. It reaches Kestrel as it is, with its `password`.
     * Default: none.
     */
    path?: pulumi.Input<string>;
    /**
     * The bytes of a `.pfx` file as base64 (`base64 -w0 tls.pfx`), for a PFX kept in a secret store. It reaches
     * Kestrel as it is, with its `password`. Treated as a secret. Default: none.
     */
    pfxBase64?: pulumi.Input<string>;
    /**
     * The password of the PFX given by `path` or `pfxBase64`, if it has one; Kestrel reads it from the service's
     * settings file, never the environment. Not allowed with `privateKeyPem`. Treated as a secret. Default: none.
     */
    password?: pulumi.Input<string>;
    /**
     * The certificate as PEM, leaf first, then its intermediate certificates (for example a `tls.LocallySignedCert`'s
     * `certPem`, or a `fullchain.pem`); with `privateKeyPem`. It reaches Kestrel as a PFX without a password that holds
     * the key, the certificate and its chain. Default: none.
     */
    certificatePem?: pulumi.Input<string>;
    /**
     * The certificate's private key (RSA or EC) as unencrypted PEM (PKCS#1, SEC1 or PKCS#8), for example a
     * `tls.PrivateKey`'s `privateKeyPem`; with `certificatePem`. Treated as a secret. Default: none.
     */
    privateKeyPem?: pulumi.Input<string>;
}

/**
 * Serve the containerized Identity Service over HTTPS (Kestrel) in addition to HTTP.
 */
export interface DockerHttps {
    /**
     * The host port mapped to the container's HTTPS port 443. Default: 8443.
     */
    port?: pulumi.Input<number>;
    /**
     * The TLS certificate Kestrel serves.
     */
    certificate: TlsCertificate;
}

/**
 * Build the image from the extracted `IdentityService.zip` folder, as `docker build -f Dockerfile-OAuth .` does.
 */
export interface DockerBuild {
    /**
     * The extracted `IdentityService.zip` folder (the build context), absolute or relative to the program's working
     * directory. The provider hashes the folder's contents, so the same files in another folder or on another machine
     * do not rebuild the image.
     */
    context: pulumi.Input<string>;
    /**
     * The Dockerfile, relative to `context`. Default: `Dockerfile-OAuth`.
     */
    dockerfile?: pulumi.Input<string>;
}

/**
 * Settings of the Docker target.
 */
export interface DockerDeployment {
    /**
     * A prebuilt Identity Service image to pull and run (for example `registry.example.com/creatio-identity-service:8.2.1`).
     * Give exactly one of `image` and `build`.
     */
    image?: pulumi.Input<string>;
    /**
     * The registry digest (`sha256:` and 64 hex digits) of `image`: the image is then pulled by this digest. Docker
     * reuses a local image with the same tag and never pulls again on its own, so a tag that was pushed again
     * reaches the service only through a new digest here (for example from `docker buildx imagetools inspect`);
     * changing it pulls that image and replaces the container. Only with `image`.
     */
    imageDigest?: pulumi.Input<string>;
    /**
     * Build the image locally from the extracted `IdentityService.zip`; the image is never pushed.
     * Give exactly one of `image` and `build`.
     */
    build?: DockerBuild;
    /**
     * The container name. Default: the component's name.
     */
    containerName?: pulumi.Input<string>;
    /**
     * The host port mapped to the container's HTTP port 80. Default: 8090.
     */
    httpPort?: pulumi.Input<number>;
    /**
     * The host name under which the machine that runs Pulumi reaches the published ports: the readiness gate polls
     * it, and it forms the output `url` (and `publicUrl`, unless that is given). Default: the Docker host's name
     * when the Docker provider's `host` is a remote daemon (`ssh://user@docker1` or `tcp://docker1:2376` give
     * `docker1`), otherwise `localhost`.
     */
    hostname?: pulumi.Input<string>;
    /**
     * The host address the ports are published on. Default: `0.0.0.0` (all interfaces).
     */
    bindAddress?: pulumi.Input<string>;
    /**
     * Names of existing Docker networks to attach the container to (for example the network of the database container).
     * Default: none (the default bridge).
     */
    networks?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The container's restart policy. Default: `unless-stopped`.
     */
    restart?: pulumi.Input<RestartPolicy>;
    /**
     * Serve HTTPS with Kestrel as well. Default: HTTP only.
     */
    https?: DockerHttps;
    /**
     * The container's health check, as Docker's `test` (for example `["CMD", "/probe"]` or `["CMD-SHELL", "probe"]`):
     * Docker runs it every 3 seconds after a start period of a minute and reports the container `healthy` or, after 3
     * failures in a row, `unhealthy` (`docker ps`, `docker inspect`). `["NONE"]` turns health checking off, the image's
     * own `HEALTHCHECK` included. Changing it replaces the container. Default: the same `bash` probe of the discovery
     * document as `swarm.healthCheck` (the vendor's image has `bash` but no `curl` or `wget`); an image without `bash`
     * (Alpine, chiseled) is reported unhealthy with it: give one here.
     */
    healthCheck?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * How a Swarm service changes its tasks: `updateConfig` and `rollbackConfig` of the service.
 */
export interface SwarmUpdate {
    /**
     * Tasks changed at a time. Default: 1.
     */
    parallelism?: pulumi.Input<number>;
    /**
     * Wait between two batches, a duration such as `5s`. Default: `0s`.
     */
    delay?: pulumi.Input<string>;
    /**
     * How long a new task is watched for a failure before the next batch, a duration such as `10s`. Default: `15s`.
     */
    monitor?: pulumi.Input<string>;
    /**
     * `start-first` starts a new task before its old one stops (no capacity lost); `stop-first` stops it first.
     * Default: `start-first`.
     */
    order?: pulumi.Input<string>;
}

/**
 * CPU and memory of each task.
 */
export interface SwarmResources {
    /**
     * The most CPU a task may use, in cores (for example 0.5). Default: no limit.
     */
    cpuLimit?: pulumi.Input<number>;
    /**
     * The most memory a task may use, in MiB. Default: no limit.
     */
    memoryLimitMb?: pulumi.Input<number>;
    /**
     * CPU reserved for a task when it is scheduled, in cores. Default: none.
     */
    cpuReservation?: pulumi.Input<number>;
    /**
     * Memory reserved for a task when it is scheduled, in MiB. Default: none.
     */
    memoryReservationMb?: pulumi.Input<number>;
}

/**
 * A Redis service the component runs next to the Identity Service, on the component's overlay network, to share
 * the key the replicas protect their data with. It keeps its data in a named volume on the node that runs it, so a
 * restarted Redis task keeps the keys; on another node it starts empty. For production, prefer a managed Redis
 * given as `redisConnection`.
 */
export interface SwarmRedis {
    /**
     * The Redis image, for example `redis:7-alpine`. It must be on every node that may run it or in a registry they
     * reach. The service runs it with the arguments `--appendonly yes` (the official image's entrypoint passes them to
     * `redis-server`) and its data in `/data`, the official image's working directory.
     */
    image: pulumi.Input<string>;
    /**
     * The named Docker volume mounted at `/data`. Docker creates it on the node that runs the Redis task, the first
     * time the task starts there, and keeps it after `pulumi destroy`. Default: `<project>-<stack>-<name>-redis-data`.
     */
    volume?: pulumi.Input<string>;
    /**
     * Placement constraints of the Redis task, for example `node.hostname==swarm-1`, to keep it on the node that holds
     * its volume. Default: none.
     */
    constraints?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * Serve the Swarm service over HTTPS (Kestrel) in addition to HTTP. The certificate reaches the tasks as a Docker
 * secret (a file) and its password in the settings file, itself a Docker secret; neither is in the service spec.
 */
export interface SwarmHttps {
    /**
     * The port the tasks' HTTPS port 443 is published on (the routing mesh's ingress port on every node). With
     * `endpointMode` `dnsrr` nothing is published and this is the HTTPS port of the load balancer in front of the
     * tasks, which passes TLS through to them. Default: 8443.
     */
    port?: pulumi.Input<number>;
    /**
     * The TLS certificate Kestrel serves. A new certificate rolls the tasks (start-first, health-gated) onto it; the
     * service itself is kept.
     */
    certificate: TlsCertificate;
}

/**
 * Settings of the Docker Swarm target: the Identity Service as a replicated Swarm service. The connection string,
 * the client secret and the certificate reach the tasks as Docker secrets (files), never in the service's environment.
 */
export interface SwarmDeployment {
    /**
     * How many tasks serve the service. More than one needs a shared data-protection key: `redisConnection` or
     * `swarm.redis`. Every task opens its own database connection pool: keep `replicas` times the pool size (the
     * connection string's `Maximum Pool Size`, 100 by default) below the database's connection limit. Default: 2.
     */
    replicas?: pulumi.Input<number>;
    /**
     * A prebuilt Identity Service image (for example `registry.example.com/creatio-identity-service:8.2.1`) that every
     * node can pull. Prefer it by digest (`...@sha256:...`): the Docker provider pins a tag to its digest only when it
     * creates the service, so a tag rolls the tasks once more on the next run. Give exactly one of `image` and `build`.
     */
    image?: pulumi.Input<string>;
    /**
     * Build the image locally from the extracted `IdentityService.zip`; it is never pushed, so only the node that
     * built it can run it: a single-node swarm. Give exactly one of `image` and `build`.
     */
    build?: DockerBuild;
    /**
     * The port the service is published on (the routing mesh's ingress port on every node). With `endpointMode`
     * `dnsrr` nothing is published and this is the port of the load balancer in front of the tasks. Default: 8090.
     */
    httpPort?: pulumi.Input<number>;
    /**
     * The host name under which the machine that runs Pulumi reaches `httpPort` (and `https.port`). Default: as for
     * `docker.hostname`.
     */
    hostname?: pulumi.Input<string>;
    /**
     * Serve HTTPS with Kestrel as well: `url` is then `https://<hostname>:<https.port>`, and the readiness gate
     * verifies the certificate (trust a private CA with `readiness.caCertificate`). Default: HTTP only.
     */
    https?: SwarmHttps;
    /**
     * `vip`: one virtual IP and the routing mesh publish `httpPort` on every node. `dnsrr`: no virtual IP and no
     * published port; the tasks' addresses are the DNS answers for `serviceAlias` on the service's networks, for a
     * load balancer of your own (needed on hosts without IPVS, where the routing mesh does not work). Default: `vip`.
     */
    endpointMode?: pulumi.Input<string>;
    /**
     * The DNS name of the service on its networks. Default: the component name.
     */
    serviceAlias?: pulumi.Input<string>;
    /**
     * IDs of existing overlay networks to attach the service to as well (for example the network of Creatio or of
     * the load balancer). The service is always on an overlay network of its own. Default: none.
     */
    networks?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Placement constraints, for example `node.role==worker`. Default: none.
     */
    constraints?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * CPU and memory of each task. Default: no limits or reservations.
     */
    resources?: SwarmResources;
    /**
     * How an update rolls through the tasks. A task that fails its health check rolls the update back. Default: one
     * task at a time, start-first, 15 s of monitoring each.
     */
    update?: SwarmUpdate;
    /**
     * How a rollback rolls through the tasks. Default: one task at a time, start-first.
     */
    rollback?: SwarmUpdate;
    /**
     * Run Redis as a service of the component for the shared data-protection key. Not with `redisConnection`.
     * Default: none.
     */
    redis?: SwarmRedis;
    /**
     * The tasks' health check, as Docker's `test` (for example `["CMD", "/probe"]`): a task takes traffic, and an
     * update moves on, only once it is healthy; a failing new task rolls the update back. Default: a `bash` probe of
     * the discovery document on port 80 (the vendor's image, Microsoft's ASP.NET Core image on Debian, has `bash` but
     * no `curl` or `wget`). An image without `bash` (Alpine, chiseled) never becomes healthy with it: give one here.
     */
    healthCheck?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The database connections this service may use (for PostgreSQL: `max_connections` minus what Creatio and others
     * use). When given, the most tasks that run at once (`replicas` plus `update.parallelism` during a start-first
     * update) times the pool size (`Maximum Pool Size` of the connection string, else 100) must fit. Default: not checked.
     */
    maxDatabaseConnections?: pulumi.Input<number>;
}

/**
 * A custom account for the IIS application pool (instead of ApplicationPoolIdentity).
 */
export interface IisAppPoolIdentity {
    /**
     * The account, for example `CONTOSO\svc-identity` or `.\svc-identity` for a local account. It needs read access to
     * the install folder and to the database (with integrated security).
     */
    username: pulumi.Input<string>;
    /**
     * The account's password. Treated as a secret.
     */
    password: pulumi.Input<string>;
}

/**
 * The ASP.NET Core Module's stdout log (`stdoutLogEnabled` and `stdoutLogFile` in `web.config`). Meant for
 * testing and debugging only.
 */
export interface IisStdoutLog {
    /**
     * Write the service's console output to log files. Default: false.
     */
    enabled: pulumi.Input<boolean>;
    /**
     * The log file prefix, relative to the install folder or absolute. Its folder is created and made writable by
     * the pool's account. Default: `.\logs\stdout`.
     */
    path?: pulumi.Input<string>;
}

/**
 * An HTTPS binding of the IIS site, in addition to the HTTP binding.
 */
export interface IisHttps {
    /**
     * The HTTPS port. Must differ from the HTTP `port`.
     */
    port: pulumi.Input<number>;
    /**
     * The thumbprint (40 hexadecimal digits; spaces are ignored) of a certificate with its private key in the
     * `LocalMachine\My` or `LocalMachine\WebHosting` store of the server. Not a certificate value: IIS binds a
     * certificate of the machine's store by its hash, and a private key imported into that store outlives the site
     * and may be shared with other sites, so import it there yourself (`Import-PfxCertificate`).
     */
    certificateThumbprint: pulumi.Input<string>;
}

/**
 * Settings of the IIS target: the Identity Service as an IIS site with its own application pool on a Windows server.
 */
export interface IisDeployment {
    /**
     * How to reach the Windows server over SSH (its OpenSSH server). Default: none; the commands then run on the
     * machine that runs Pulumi, which must be the IIS server itself.
     */
    connection?: command.types.input.remote.ConnectionArgs;
    /**
     * Creatio's root folder on the server, for example `C:\Creatio`.
     */
    creatioPath: pulumi.Input<string>;
    /**
     * Where the archive is extracted: the site's physical path. Default: `<creatioPath>\IdentityService`.
     */
    installPath?: pulumi.Input<string>;
    /**
     * `IdentityService.zip` on the server, for example `C:\Creatio\IdentityService.zip`. To deploy a new archive at
     * the same path, change `creatioVersion` (or the path): the install step runs again when either changes, and
     * extracts the archive when its content differs from the one extracted last.
     */
    archivePath: pulumi.Input<string>;
    /**
     * The IIS site name. Default: `IdentityService-<component name>`.
     */
    siteName?: pulumi.Input<string>;
    /**
     * The application pool name (at most 64 characters). Default: `IdentityService-<component name>`.
     */
    appPoolName?: pulumi.Input<string>;
    /**
     * The site's HTTP port (for example 8090). Must be unique on the server.
     */
    port: pulumi.Input<number>;
    /**
     * The host name under which the server is reached; it forms the output `url` (and `publicUrl`, unless that is
     * given). The readiness gate itself runs on the server, against `localhost`. Default: the SSH `connection.host`,
     * or `localhost` without a connection.
     */
    hostname?: pulumi.Input<string>;
    /**
     * A custom account for the application pool. Default: ApplicationPoolIdentity.
     */
    appPoolIdentity?: IisAppPoolIdentity;
    /**
     * The pool's Load User Profile setting. Default: true.
     */
    loadUserProfile?: pulumi.Input<boolean>;
    /**
     * The ASP.NET Core Module's stdout log. Default: disabled, `.\logs\stdout`.
     */
    stdoutLog?: IisStdoutLog;
    /**
     * An HTTPS binding by certificate thumbprint; the service `url` then uses HTTPS. Default: HTTP only.
     */
    https?: IisHttps;
    /**
     * Read the server back on every preview and update, so that a hand edit there shows as a change: a read-only
     * script compares the site (folder, pool, bindings), the application pool (identity, runtime, pipeline, 32-bit,
     * Load User Profile) and the files the configuration step writes (`appsettings.json`, `web.config` and the signing
     * PFX, by SHA-256) with what the steps left, and a part that differs makes exactly its step an update, which `pulumi
     * up` runs again to repair it. Costs one SSH round trip per run (PowerShell on this machine without a
     * `connection`), and needs the server reachable for a preview. Not with `connection.proxy`. A pool's password is
     * not read back. Turning it on updates the site, pool and configuration steps once (they record what they left;
     * nothing restarts). See docs/iis.md. IIS target only. Default: false.
     */
    detectDrift?: boolean;
    /**
     * Leave what the steps put on the server in place when a step is deleted or replaced: Pulumi forgets the old step
     * and runs none of its delete commands (Pulumi's `retainOnDelete` on every IIS step). The way off a server that is
     * gone: set it in a run of its own that changes nothing else (the engine skips a delete only when the state already
     * says so), then change `connection` to the new server; unset it once the move is done. See docs/operations.md.
     * Default: false.
     */
    retainOnDelete?: boolean;
}

/**
 * The service behind a reverse proxy or load balancer that terminates TLS (Creatio reaches it at `publicUrl`, the
 * proxy forwards to the service's own `url`). What the service can be told is ASP.NET Core's switch for forwarded
 * headers, `ASPNETCORE_FORWARDEDHEADERS_ENABLED`; known networks or proxies cannot be given to it (ASP.NET Core reads
 * them from no configuration key and the vendor documents none), nor a fixed issuer (the vendor documents no
 * `IssuerUri` key): see "Behind a load balancer" in the README.
 */
export interface ReverseProxy {
    /**
     * Take the request's scheme from the proxy's `X-Forwarded-Proto` header (and the client address from
     * `X-Forwarded-For`): the service is started with `ASPNETCORE_FORWARDEDHEADERS_ENABLED=true`, in the container's or
     * Swarm service's environment or the IIS site's `web.config` (`<aspNetCore><environmentVariables>`). ASP.NET Core then trusts these headers from every sender (the switch clears the
     * known networks and proxies, so the stricter checks of ASP.NET Core 8.0.17 and later change nothing): make the
     * service reachable only through the proxy. `X-Forwarded-Host` is not read: the proxy must pass the original `Host`
     * header. Creatio 8.0.8 and later (the runtimes that read the switch; `true` is refused before). Default: true
     * when `publicUrl` differs from the service's own `url` in scheme, host or port, false otherwise.
     */
    forwardedHeaders?: pulumi.Input<boolean>;
}

/**
 * The readiness gate: the deployment completes only once the service answers.
 */
export interface Readiness {
    /**
     * Wait for the service to answer before `url` and `creatioSystemSettings` resolve. Default: true.
     */
    enabled?: boolean;
    /**
     * How long to wait, in seconds. Default: 300.
     */
    timeoutSeconds?: pulumi.Input<number>;
    /**
     * After discovery answers, also request a `client_credentials` token with the system client. Default: true.
     */
    verifyToken?: pulumi.Input<boolean>;
    /**
     * Require the discovery document's `issuer` to be the URL Creatio uses (`publicUrl`, else `url`), as Creatio's
     * discovery client compares them. With a `publicUrl` of another scheme, host or port, the gate asks the service
     * at `url` the way a proxy forwards Creatio's request (the `Host` of `publicUrl` and its scheme in
     * `X-Forwarded-Proto`); on IIS the gate runs on the server and asks the site at localhost, expecting `publicUrl`,
     * else the server's URL. Turn it off only for a service that cannot advertise that issuer. Default: true.
     */
    verifyIssuer?: pulumi.Input<boolean>;
    /**
     * A CA certificate (PEM, `-----BEGIN CERTIFICATE-----`) the gate trusts besides the system's roots, for a service
     * whose HTTPS certificate a private CA issued. The gate always verifies the certificate chain of an https `url`;
     * it never skips the check. On IIS the gate also trusts the site's own binding certificate by its thumbprint, and
     * a certificate that chains to this CA (the root matched by thumbprint), for example one renewed on the server
     * since. Not a secret. Default: the system's trusted roots only.
     */
    caCertificate?: pulumi.Input<string>;
}

/**
 * The arguments of an Identity Service deployment.
 */
export interface IdentityServiceArgs {
    /**
     * Where the service runs: a Docker container, an IIS site, or a Docker Swarm service.
     */
    target: DeploymentTarget;
    /**
     * The Creatio version the `IdentityService.zip` belongs to, for example `8.2.1` (a fourth build number is allowed).
     * It selects the runtime, the configuration keys and whether Docker is supported (8.0.8+). A release newer than
     * the package knows (after 8.3.x) is deployed as the newest known one, with a warning that says so; an older one
     * than 7.16.4 is refused.
     */
    creatioVersion: string;
    /**
     * A known Creatio release (7.16.4 to 8.3.x, not newer than `creatioVersion`) whose profile to deploy with: its
     * runtime, Docker support, configuration keys and system client. For a release newer than the package knows,
     * where the newest known profile does not fit, or to pin the choice (no warning is shown then). Default: the profile
     * of `creatioVersion`, or of the newest known release for a newer one.
     */
    profileVersion?: string;
    /**
     * The database the service stores its clients in.
     */
    database: Database;
    /**
     * The system client. Default: a generated id and secret named `Creatio`.
     */
    client?: Client;
    /**
     * The token-signing certificate (`X509CertificatePath`). Default: a self-signed certificate generated for this
     * instance (on every Creatio version, instead of the public sample certificate that archives before 8.2.3 ship).
     */
    signingCertificate?: SigningCertificate;
    /**
     * The service's default log level. Verbose levels are meant for debugging only. Default: `Warning`.
     */
    logLevel?: pulumi.Input<LogLevel>;
    /**
     * A Redis connection string (`RedisConnection`) that keeps the machine key shared, so tokens cannot be spoofed
     * across restarts. Creatio 8.0.0 and later. Treated as a secret. Default: not set.
     */
    redisConnection?: pulumi.Input<string>;
    /**
     * `ForceHttpsSchemeInRequests` (Creatio 8.3.1 and later): the service builds its issuer and endpoints with
     * `https`, whatever scheme the request came in with. Default: the scheme Creatio uses: `true` when `publicUrl`
     * (or, without one, `url`) is `https`, `false` when it is `http`.
     */
    forceHttpsSchemeInRequests?: pulumi.Input<boolean>;
    /**
     * The URL at which Creatio reaches the service, handed to Creatio as `OAuth20IdentityServerUrl` in
     * `creatioSystemSettings`, for example `https://ids.example.com` behind a reverse proxy or load balancer, or
     * `http://<container name>` when Creatio runs in a container on the same Docker network. It may differ from the
     * address the readiness gate polls (`url`); the gate then checks that the service advertises it as its issuer, and the service is told it is behind a proxy (see `proxy`). A default port and a trailing slash are left out, as the
     * service leaves them out of its issuer. Default: the output `url` (Docker:
     * `http://<docker.hostname>:<docker.httpPort>`, or `https://` with the HTTPS port; Swarm: the same with
     * `swarm.hostname`, `swarm.httpPort` and `swarm.https.port`; IIS: `http://<iis.hostname>:<iis.port>`, or
     * `https://` with the HTTPS port).
     */
    publicUrl?: pulumi.Input<string>;
    /**
     * The reverse proxy or load balancer in front of the service, when `publicUrl` is its address. Default: forwarded
     * headers on when `publicUrl` differs from `url` in scheme, host or port.
     */
    proxy?: ReverseProxy;
    /**
     * Settings of the Docker target. Required when `target` is `docker`, not allowed otherwise.
     */
    docker?: DockerDeployment;
    /**
     * Settings of the IIS target. Required when `target` is `iis`, not allowed otherwise.
     */
    iis?: IisDeployment;
    /**
     * Settings of the Docker Swarm target. Required when `target` is `swarm`, not allowed otherwise.
     */
    swarm?: SwarmDeployment;
    /**
     * The readiness gate. Default: enabled, 300 seconds, with a token request.
     */
    readiness?: Readiness;
    /**
     * Extra keys of the service's configuration, for what the package has no argument for: each key is a name
     * (`AllowedHosts`), a section path (`Serilog:MinimumLevel:Default`) or a section whose value is an object of keys;
     * each value is any JSON value (secrets allowed: wrap them with `pulumi.secret`). They reach the service with the
     * package's own keys: in `appsettings.Production.json` on Docker and Swarm (a file uploaded into the container,
     * or a Docker secret), merged into `appsettings.json` on IIS. A key the package sets itself (such as
     * `Logging:LogLevel:Default`, set from `logLevel`) is refused unless listed in `overrides`. Default: none.
     */
    additionalSettings?: { [key: string]: pulumi.Input<any> };
    /**
     * Extra environment variables of the service's process: the container's environment on Docker, the service's on
     * Swarm, `<environmentVariables>` in the site's `web.config` on IIS. Names are letters, digits, `_`, `.` and `-`
     * (`__` stands for the `:` of a configuration section, and a variable wins over every settings file). Values must
     * not be secret (`docker inspect` shows a container's environment): give secrets in `additionalSettings`. A
     * variable that sets a key or variable the package sets itself is refused unless listed in `overrides`.
     * Default: none.
     */
    environment?: { [name: string]: pulumi.Input<string> };
    /**
     * Keys of `additionalSettings` and names of `environment` that may replace one the package sets itself (for example
     * `["Logging:LogLevel:Default"]`): without an entry here, such a collision is refused before anything is created,
     * naming the key and the argument to use instead. Every entry must replace something, with one value (not `null`
     * or an array); a value in place of one of the package's secrets is kept a secret. Default: none.
     */
    overrides?: string[];
    /**
     * Connect this Creatio instance to the service once it answers: its URL, client id and secret are written to
     * Creatio's `OAuth20IdentityServer*` settings and Creatio's own health check must pass. The version is
     * `creatioVersion`. Default: not connected (the values are in `creatioSystemSettings`).
     */
    creatio?: IdentityServiceCreatio;
    /**
     * Any value; changing it re-applies what a hand edit may have undone, and nothing else: client re-seeding runs
     * again (a client row edited or deleted by hand is put back as configured, and the service restarted when one had
     * to be replaced) and so does the connection to Creatio (its system settings, feature and default resource are
     * written again and its health check runs). `pulumi up --refresh` cannot do this: the steps are commands, and a
     * command's refresh reads nothing back. See docs/operations.md. Default: none.
     */
    repair?: pulumi.Input<string>;
}

/**
 * The three Creatio system settings that connect Creatio to this Identity Service
 * (set them, then make sure the `OAuth20Integration` feature is on).
 */
export interface CreatioSystemSettings {
    /**
     * The Identity Service URL.
     */
    OAuth20IdentityServerUrl: string;
    /**
     * The system client id.
     */
    OAuth20IdentityServerClientId: string;
    /**
     * The system client secret (a secure-text setting).
     */
    OAuth20IdentityServerClientSecret: string;
}

