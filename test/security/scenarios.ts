/**
 * The scenario matrix the security tests run over: every target variant × database provider × HTTPS × supplied
 * or generated credentials (client and signing certificate) × Redis × Creatio version row, each with distinctive secret values.
 * The scenarios with supplied credentials also give the escape hatches: a secret value in `additionalSettings` and a
 * variable in `environment`.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityServiceArgs } from "../../src";
import { encodePkcs12, openPfx } from "../../src/certificates";
import { RELEASES, formatVersion } from "../../src/versions";

/** The extracted IdentityService.zip of the test fixture service (it holds Dockerfile-OAuth). */
export const BUILD_CONTEXT = path.join(__dirname, "..", "fixtures", "identity-service");

const certificates = path.join(__dirname, "..", "fixtures", "certificates");

/** The supplied signing PFX (a password-protected one) and the bytes the service receives: opened, encoded again. */
const SIGNING_PFX = path.join(certificates, "tls.pfx");
const SIGNING_PFX_PASSWORD = "tls-test-password";
const opened = openPfx(fs.readFileSync(SIGNING_PFX), SIGNING_PFX_PASSWORD);
const DELIVERED_SIGNING_PFX = opened.ok ? encodePkcs12(opened.privateKeyPem, opened.certificatePem).toString("base64") : "";

/** A run of the generated signing key's PEM body (the double's fixed key), long enough to be unique. */
export const GENERATED_KEY_BODY = fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8").split("\n")[5];

export interface Scenario {
    readonly title: string;
    readonly args: IdentityServiceArgs;
    /** Secret values that must never show outside a Pulumi secret, by label. */
    readonly secrets: Record<string, string>;
}

export interface Variant {
    readonly title: string;
    readonly target: DeploymentTarget;
    /** Builds the target-specific block; `https` says whether to serve HTTPS. */
    readonly block: (https: boolean, secrets: Record<string, string>) => Partial<IdentityServiceArgs>;
    /** Whether a Creatio version row supports this variant. */
    readonly supports: (version: string) => boolean;
}

export const dockerVariant: Variant = {
    title: "Docker",
    target: DeploymentTarget.Docker,
    block: (https, secrets) => ({
        docker: {
            build: { context: BUILD_CONTEXT },
            https: https
                ? { port: 8443, certificate: { path: path.join(certificates, "tls.pfx"), password: secrets.tlsPassword } }
                : undefined,
        },
    }),
    supports: version => RELEASES.find(r => formatVersion(r.from) === version)!.docker,
};

function iisVariant(title: string, ssh: boolean): Variant {
    return {
        title,
        target: DeploymentTarget.Iis,
        block: (https, secrets) => ({
            iis: {
                connection: ssh ? { host: "win-iis.example.com", user: "deploy", password: secrets.sshPassword, privateKey: secrets.sshPrivateKey } : undefined,
                creatioPath: "C:\\Creatio",
                archivePath: "C:\\Creatio\\IdentityService.zip",
                port: 8090,
                appPoolIdentity: { username: "CONTOSO\\svc-ids", password: secrets.windowsPassword },
                https: https ? { port: 8443, certificateThumbprint: "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D" } : undefined,
            },
        }),
        supports: () => true,
    };
}

export const iisLocalVariant = iisVariant("IIS local", false);
export const iisSshVariant = iisVariant("IIS over SSH", true);
/** Swarm serves plain HTTP (TLS ends at the load balancer); more than one replica needs the shared Redis. */
export const swarmVariant: Variant = {
    title: "Swarm",
    target: DeploymentTarget.Swarm,
    block: (_https, secrets) => ({
        swarm: { image: "registry.example.com/creatio-identity-service:8", replicas: secrets.redisConnection ? 3 : 1 },
    }),
    supports: version => RELEASES.find(r => formatVersion(r.from) === version)!.docker,
};

export const ALL_VARIANTS = [dockerVariant, iisLocalVariant, iisSshVariant, swarmVariant];

/** The first version of each row, and the versions where a feature switches on. */
export const VERSIONS = [...RELEASES.map(r => formatVersion(r.from)), "8.2.3", "8.3.1"];

export function scenarios(variants: readonly Variant[]): Scenario[] {
    const result: Scenario[] = [];
    let serial = 0;
    for (const variant of variants) {
        for (const version of VERSIONS) {
            const row = RELEASES.find(r => formatVersion(r.from) === version) ?? RELEASES[RELEASES.length - 1];
            if (!variant.supports(formatVersion(row.from))) {
                continue;
            }
            for (const provider of [DatabaseProvider.Postgres, DatabaseProvider.MsSqlServer]) {
                for (const https of [false, true]) {
                    for (const supplied of [false, true]) {
                        for (const redis of [false, true]) {
                            if (redis && version.startsWith("7.")) {
                                continue; // RedisConnection exists from 8.0
                            }
                            serial++;
                            const tag = `Q${serial}x`;
                            const secrets: Record<string, string> = {
                                connectionString: `Password=Conn${tag}Secret;Server=db`,
                                reseedConnectionString: `Password=Reseed${tag}Secret;Server=localhost`,
                                // The TLS PFX's own password: a certificate is opened, password and all, before anything is created.
                                tlsPassword: SIGNING_PFX_PASSWORD,
                                // A PFX with a password: the program opens it and sends it on encoded again, without one.
                                signingPassword: SIGNING_PFX_PASSWORD,
                                signingPfx: DELIVERED_SIGNING_PFX.slice(200, 260),
                                windowsPassword: `Win${tag}Password`,
                                sshPassword: `Ssh${tag}Password`,
                                sshPrivateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\nKey${tag}Material\n-----END OPENSSH PRIVATE KEY-----`,
                            };
                            if (supplied) {
                                secrets.clientSecret = `Client${tag}Secret`.padEnd(32, "z");
                                secrets.additionalSetting = `Smtp${tag}Password`;
                            } else {
                                // What the TLS provider's test double returns as the generated private key.
                                secrets.generatedSigningKey = GENERATED_KEY_BODY;
                            }
                            if (redis) {
                                secrets.redisConnection = `redis:6379,password=Redis${tag}Secret`;
                            }
                            result.push({
                                title: `${variant.title} ${version} ${provider} ${https ? "https" : "http"} ${supplied ? "supplied" : "generated"} credentials${redis ? " redis" : ""}`,
                                secrets,
                                args: {
                                    target: variant.target,
                                    creatioVersion: version,
                                    database: {
                                        provider,
                                        connectionString: secrets.connectionString,
                                        reseedConnectionString: secrets.reseedConnectionString,
                                    },
                                    client: supplied
                                        ? { id: `client-id-${tag}`.padEnd(16, "0"), secret: secrets.clientSecret, creatioUrl: "https://creatio.example.com" }
                                        : { rotation: "1" },
                                    signingCertificate: supplied
                                        ? { path: SIGNING_PFX, password: secrets.signingPassword }
                                        : { rotation: "1" },
                                    redisConnection: secrets.redisConnection,
                                    ...(supplied
                                        ? {
                                              additionalSettings: { AllowedHosts: "*", Smtp: { Host: "smtp.example.com", Password: pulumi.secret(secrets.additionalSetting) } },
                                              environment: { TZ: "Europe/Berlin" },
                                          }
                                        : {}),
                                    ...variant.block(https, secrets),
                                },
                            });
                        }
                    }
                }
            }
        }
    }
    return result;
}
