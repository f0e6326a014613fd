/**
 * What every deployment target offers the component: the facts the configuration is rendered with, what it takes
 * exclusively on its host, and its deployment, which returns the URL the service answers on and the readiness gate
 * that proves it. The component only conducts: it plans, renders, calls `deploy` and waits for the gate.
 */
import * as pulumi from "@pulumi/pulumi";
import { Claim } from "../claims";
import { Setting } from "../configuration";
import { forwardedHeadersEnabled } from "../proxy";
import { ReadinessSettings } from "../readiness";
import { VersionProfile } from "../versions";

/** What the configuration needs to know about the target. */
export interface TargetFacts {
    /** Where the signing certificate is placed on the target. */
    readonly signingCertificatePath: pulumi.Input<string>;
    /** Whether the service itself terminates HTTPS; decides the default of `ForceHttpsSchemeInRequests`. */
    readonly servedOverHttps: boolean;
}

/** What a deployment is made from; every target receives the same. */
export interface DeployInputs {
    readonly profile: VersionProfile;
    /** The rendered service configuration (secret). */
    readonly configuration: pulumi.Output<Setting[]>;
    /** Base64 bytes of the signing PFX (secret). */
    readonly signingCertificate: pulumi.Output<string>;
    /**
     * The user's environment variables (`environment`, checked: none is secret, none collides with the target's own
     * unless the user listed it in `overrides`); each replaces a target's variable of the same name.
     */
    readonly environment: pulumi.Output<Record<string, string>>;
    /** Every secret value of the configuration, for targets that must redact them from their own messages. */
    readonly secrets: pulumi.Input<string | undefined | readonly string[]>[];
    /** The URL handed to Creatio, when it differs from the target's `url`. */
    readonly publicUrl?: pulumi.Input<string>;
    /** `proxy.forwardedHeaders` as given; undefined: decided from `publicUrl` and the target's `url`. */
    readonly forwardedHeaders?: pulumi.Input<boolean>;
    /** The Docker daemon's address (the provider's `host`), to derive a default host name from. */
    readonly daemon?: pulumi.Input<string | undefined>;
    /** Changes whenever client re-seeding deleted rows: the service must start again to insert its client. */
    readonly restartToken?: pulumi.Output<string>;
    /** The readiness gate to build, when it is enabled. */
    readonly readiness?: {
        readonly settings: ReadinessSettings;
        readonly clientId: pulumi.Input<string>;
        readonly clientSecret: pulumi.Input<string>;
    };
}

/** A deployed target. */
export interface Deployed {
    /** The service URL as the machine that runs Pulumi reaches it. */
    readonly url: pulumi.Output<string>;
    /** The resource that proves the service answers, when readiness is enabled. */
    readonly gate?: pulumi.CustomResource;
    /** The resource that runs the service (what waits on it waits for the service). */
    readonly service: pulumi.CustomResource;
}

/** Where a re-seed container reaches the database as the service does. */
export interface ReseedNetworks {
    /** Network names or IDs; none: the Docker host's default bridge. */
    readonly networks: pulumi.Input<string[]>;
    /** The resources the networks come from. */
    readonly dependsOn: pulumi.Resource[];
}

/** A target whose settings were checked. */
export interface PlannedTarget {
    readonly facts: TargetFacts;
    /**
     * The networks of the service, for the `container` re-seed runner (Docker and Swarm targets), created under
     * `parent` when the target creates them; called before `deploy`, which then uses the same.
     */
    reseedNetworks?(name: string, parent: pulumi.Resource): ReseedNetworks;
    /** What the target takes exclusively on its host; `providerHost` names the provider's host (see claims.ts). */
    claims(providerHost: string): Claim[];
    /** Creates the target's children under `parent`, the service after `dependsOn`. */
    deploy(name: string, inputs: DeployInputs, parent: pulumi.Resource, dependsOn: pulumi.Resource[]): Deployed;
}

/**
 * Whether the service at `url` takes the scheme from the proxy's forwarded headers: as given, else when Creatio
 * reaches it at another scheme, host or port (proxy.ts).
 */
export function forwardedHeadersFor(inputs: DeployInputs, url: pulumi.Input<string>): pulumi.Output<boolean> {
    // The service's URL is waited for only when the answer depends on it: with an explicit provider it is unknown in a
    // preview, and the container's environment must not become unknown (a replacement shown) for a deployment
    // without publicUrl, whose answer it never changes.
    return pulumi.all([inputs.forwardedHeaders, inputs.publicUrl]).apply(([explicit, publicUrl]) =>
        explicit !== undefined || publicUrl === undefined
            ? pulumi.output(forwardedHeadersEnabled({ profile: inputs.profile, explicit, publicUrl, serviceUrl: "" }))
            : pulumi.output(url).apply(serviceUrl => forwardedHeadersEnabled({ profile: inputs.profile, explicit, publicUrl, serviceUrl })),
    );
}
