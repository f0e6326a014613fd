/**
 * The IdentityService component: checks its arguments, creates the client credentials, renders the service
 * configuration, deploys it to the chosen target, waits until it answers, and hands over what Creatio needs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { CreatioSystemSettings, IdentityServiceArgs, ReseedRunner as ReseedRunnerKind } from "./args";
import { createSigningCertificate, signingPfxBase64 } from "./certificates";
import { CreatioHealthCheckResult } from "./creatioArgs";
import { claimExclusively, providerFor, providerKey } from "./claims";
import { clientDefinition, ClientSettings, renderSettings, Setting } from "./configuration";
import { ClientCredentials, createClientCredentials } from "./credentials";
import { additionalSettingsOutput, secretSettingValues } from "./escapeHatchPlan";
import { DeploymentPlan, planDeployment } from "./plan";
import { checkPlainInputs } from "./plainInputs";
import { afterGate } from "./readiness";
import { createReseed, createRetirement, ReseedInputs, ReseedRunner, restartToken } from "./reseed";
import { containerRunner, dockerCliConnection, warnAboutInlineTlsMaterial } from "./reseedRunners/container";
import { localRunner } from "./reseedRunners/local";
import { serverRunner } from "./reseedRunners/server";
import { TargetFacts } from "./targets/target";
import { afterArgumentChecks } from "./validation";
import { CreatioOAuthConnection } from "./creatioConnection";
import { serviceConnectionOptions, serviceCreatioInstance, withServiceConnectionChecks } from "./creatioPlan";

/**
 * Each component's Creatio connection, kept outside the instance: schema inference reads every instance field as
 * an output, and a resource of this package cannot be one.
 */
const connections = new WeakMap<IdentityService, CreatioOAuthConnection>();

export const TYPE_TOKEN = "creatio-identity-service:index:IdentityService";

export const DISCOVERY_PATH = "/.well-known/openid-configuration";
export const TOKEN_PATH = "/connect/token";

/**
 * Creatio's Identity Service (its OAuth 2.0 server), deployed as a Docker container or an IIS site, with
 * generated client credentials, a readiness gate, and the system settings that connect Creatio to it.
 */
export class IdentityService extends pulumi.ComponentResource {
    /**
     * The service URL as the machine that runs Pulumi reaches it, for example `http://localhost:8090` (no trailing
     * slash): on Docker and Swarm the address the readiness gate checked (the target's `hostname` and its published
     * port, the HTTPS one when it serves HTTPS), on IIS
     * the server's `iis.hostname` and site port (the gate itself checks `localhost` on the server). Resolves once
     * the service answers.
     */
    public readonly url: pulumi.Output<string>;
    /**
     * The URL handed to Creatio as `OAuth20IdentityServerUrl`: the `publicUrl` argument written as the service writes
     * its issuer (scheme and host lower-cased, no default port, no trailing slash), or `url` when it is not given.
     * Resolves once the service answers.
     */
    public readonly publicUrl: pulumi.Output<string>;
    /**
     * The OpenID discovery document: `url` + `/.well-known/openid-configuration`.
     */
    public readonly discoveryUrl: pulumi.Output<string>;
    /**
     * The token endpoint: `url` + `/connect/token`.
     */
    public readonly tokenUrl: pulumi.Output<string>;
    /**
     * The system client id.
     */
    public readonly clientId: pulumi.Output<string>;
    /**
     * The system client name.
     */
    public readonly clientName: pulumi.Output<string>;
    /**
     * The system client secret. A secret.
     */
    public readonly clientSecret: pulumi.Output<string>;
    /**
     * The values of Creatio's `OAuth20IdentityServerUrl`, `OAuth20IdentityServerClientId` and
     * `OAuth20IdentityServerClientSecret` system settings. A secret. Resolves once the service answers.
     */
    public readonly creatioSystemSettings: pulumi.Output<CreatioSystemSettings>;
    /**
     * What Creatio's OAuth health check answered, when `creatio` is set. Resolves once Creatio is connected.
     */
    public readonly creatioHealthCheck?: pulumi.Output<CreatioHealthCheckResult>;

    constructor(name: string, args: IdentityServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        // Fields that decide the graph must be plain values (other languages can send an Output): checked first.
        checkPlainInputs(name, args);
        // Checked before the component registers (the creatio block with the rest, in one error); values known only
        // later are checked before it registers too. The connection child plans the creatio block again.
        const { plan, creatioArgumentsResolved } = withServiceConnectionChecks(name, args?.creatio, args?.creatioVersion, () =>
            planDeployment(name, args),
        );
        super(TYPE_TOKEN, name, {}, afterArgumentChecks(opts, [plan.argumentsResolved, creatioArgumentsResolved]));
        for (const warning of plan.warnings) {
            void pulumi.log.warn(warning, this);
        }
        claimExclusively(name, plan.deployment.claims(providerKey(providerFor(opts, docker.Provider.isInstance))));

        const credentials = createClientCredentials(name, plan.client, this);
        const client = clientOutput(plan, credentials);
        const reseedInputs: ReseedInputs = {
            provider: plan.provider,
            connectionString: plan.reseedConnectionString,
            client: pulumi.secret(client.apply(clientDefinition)),
            repair: args.repair,
        };
        const runner = plan.client.reseed ? reseedRunner(name, plan, opts, this) : undefined;
        const reseed = runner ? createReseed(name, reseedInputs, runner, { parent: this }) : undefined;
        const serviceDependsOn = reseed ? [reseed] : [];
        const serviceRestartToken = reseed ? restartToken(reseed) : undefined;

        const configuration = renderConfiguration(plan, client, plan.deployment.facts);
        const signingCertificate =
            plan.signingCertificate.kind === "supplied"
                ? signingPfxBase64(plan.signingCertificate.certificate)
                : createSigningCertificate(name, plan.signingCertificate.rotation, this).pfxBase64;
        const { url, gate, service } = plan.deployment.deploy(
            name,
            {
                profile: plan.profile,
                configuration,
                signingCertificate,
                environment: pulumi.output(plan.escapeHatches.environment),
                secrets: [plan.connectionString, credentials.secret, plan.redisConnection, signingCertificatePassword(plan), secretSettingValues(plan.escapeHatches)],
                publicUrl: plan.publicUrl,
                forwardedHeaders: plan.forwardedHeaders,
                daemon: dockerDaemon(opts),
                restartToken: serviceRestartToken,
                readiness: plan.readiness.enabled
                    ? { settings: plan.readiness, clientId: credentials.id, clientSecret: credentials.secret }
                    : undefined,
            },
            this,
            serviceDependsOn,
        );

        this.url = afterGate(url, gate);
        this.publicUrl = plan.publicUrl === undefined ? this.url : afterGate(plan.publicUrl, gate);
        this.discoveryUrl = this.url.apply(url => url + DISCOVERY_PATH);
        this.tokenUrl = this.url.apply(url => url + TOKEN_PATH);
        this.clientId = credentials.id;
        this.clientName = pulumi.output(plan.client.name);
        this.clientSecret = credentials.secret;
        this.creatioSystemSettings = pulumi.secret(
            pulumi.all([this.publicUrl, credentials.id, credentials.secret]).apply(([url, id, secret]) => ({
                OAuth20IdentityServerUrl: url,
                OAuth20IdentityServerClientId: id,
                OAuth20IdentityServerClientSecret: secret,
            })),
        );
        let connection: CreatioOAuthConnection | undefined;
        if (args.creatio) {
            // Creatio gets the URL it reaches the service at; the readiness gate has passed before it resolves.
            connection = new CreatioOAuthConnection(
                `${name}-creatio`,
                {
                    ...serviceConnectionOptions(args.creatio),
                    creatio: serviceCreatioInstance(args.creatio, args.creatioVersion),
                    identityServiceUrl: this.publicUrl,
                    clientId: credentials.id,
                    clientSecret: credentials.secret,
                    repair: args.repair,
                },
                { parent: this },
            );
            connections.set(this, connection);
            this.creatioHealthCheck = connection.healthCheck;
        }
        if (reseed && runner) {
            // The replaced credentials are retired only once everything in `retireAfter` uses the new ones: the
            // service (its readiness gate) and whatever hands the credentials on, such as the connection to Creatio.
            const retireAfter: pulumi.Resource[] = [gate ?? service, ...(connection ? [connection] : [])];
            createRetirement(name, reseedInputs, runner, reseed, retireAfter, { parent: this });
        }
        this.registerOutputs({
            creatioHealthCheck: this.creatioHealthCheck,
            url: this.url,
            publicUrl: this.publicUrl,
            discoveryUrl: this.discoveryUrl,
            tokenUrl: this.tokenUrl,
            clientId: this.clientId,
            clientName: this.clientName,
            clientSecret: this.clientSecret,
            creatioSystemSettings: this.creatioSystemSettings,
        });
    }

    /**
     * The connection to Creatio when `creatio` is set (a child created after the readiness gate), else undefined.
     * Order other resources after it with `dependsOn`, for example a step that retires old credentials.
     */
    public get creatioConnection(): CreatioOAuthConnection | undefined {
        return connections.get(this);
    }
}

/** Where the re-seed steps run (`client.reseedRunner`). */
function reseedRunner(name: string, plan: DeploymentPlan, opts: pulumi.ComponentResourceOptions | undefined, parent: pulumi.Resource): ReseedRunner {
    if (plan.client.reseedRunner === ReseedRunnerKind.Server) {
        return serverRunner({ provider: plan.provider, connection: plan.iis?.connection });
    }
    const site = plan.client.reseedRunner === ReseedRunnerKind.Container ? plan.deployment.reseedNetworks?.(name, parent) : undefined;
    if (!site) {
        return localRunner(plan.provider);
    }
    const provider = providerFor(opts, docker.Provider.isInstance) as docker.Provider | undefined;
    warnAboutInlineTlsMaterial(provider, parent);
    return containerRunner({
        provider: plan.provider,
        componentName: name,
        image: plan.client.reseedImage,
        networks: site.networks,
        connection: dockerCliConnection(provider),
        dependsOn: site.dependsOn,
    });
}

/** The Docker daemon's address: the `host` of the Docker provider given in the options, or of the default one. */
function dockerDaemon(opts: pulumi.ComponentResourceOptions | undefined): pulumi.Input<string | undefined> {
    const provider = providerFor(opts, docker.Provider.isInstance) as docker.Provider | undefined;
    return provider ? provider.host : docker.config.host;
}

/** The signing PFX's password, for targets to redact (the key and PFX values never reach a target: only the PFX re-encoded). */
function signingCertificatePassword(plan: DeploymentPlan): pulumi.Input<string> | undefined {
    const certificate = plan.signingCertificate.kind === "supplied" ? plan.signingCertificate.certificate.source : undefined;
    return certificate !== undefined && certificate.form !== "pem" ? certificate.password : undefined;
}

/** The system client with every value known: rendered into `Clients` for the service and for re-seeding. */
function clientOutput(plan: DeploymentPlan, credentials: ClientCredentials): pulumi.Output<ClientSettings> {
    return pulumi
        .all([credentials.id, plan.client.name, credentials.secret, plan.client.creatioUrl, plan.client.accessTokenLifetimeSeconds])
        .apply(([id, name, secret, creatioUrl, accessTokenLifetimeSeconds]) => ({
            id,
            name,
            secret,
            creatioUrl,
            accessTokenLifetimeSeconds,
            systemClient: plan.profile.systemClient,
        }));
}

/** The rendered configuration, a secret: it holds the connection string and the client secret. */
function renderConfiguration(plan: DeploymentPlan, client: pulumi.Output<ClientSettings>, target: TargetFacts): pulumi.Output<Setting[]> {
    return pulumi.secret(
        pulumi
            .all([
                client,
                plan.connectionString,
                plan.logLevel,
                plan.redisConnection,
                plan.forceHttpsSchemeInRequests,
                target.signingCertificatePath,
                plan.publicUrl,
                additionalSettingsOutput(plan.escapeHatches),
            ])
            .apply(([client, connectionString, logLevel, redisConnection, forceHttpsSchemeInRequests, certificatePath, publicUrl, additionalSettings]) =>
                renderSettings(plan.profile, {
                    provider: plan.provider,
                    connectionString,
                    client,
                    signingCertificatePath: certificatePath,
                    logLevel,
                    redisConnection,
                    forceHttpsSchemeInRequests,
                    servedOverHttps: target.servedOverHttps,
                    publicUrl,
                    additionalSettings,
                }),
            ),
    );
}
