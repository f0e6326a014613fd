/**
 * The system client's credentials: generated with @pulumi/random (kept in state, regenerated only when
 * `client.rotation` changes) or supplied by the user. The secret is a Pulumi secret wherever it travels.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Client } from "./args";

/** Lengths the vendor requires; generated values are exactly this long. */
export const CLIENT_ID_LENGTH = 16;
export const CLIENT_SECRET_LENGTH = 32;
/**
 * The longest client id and secret the token endpoint reads: IdentityServer4 ignores a longer `client_id` or
 * `client_secret` and answers `invalid_client` (InputLengthRestrictions.ClientId and .ClientSecret, 100;
 * IdentityServer/IdentityServer4 src/IdentityServer4/src/Configuration/DependencyInjection/Options/
 * InputLengthRestrictions.cs:12-27 @ 4.1.2, read by PostBodySecretParser.cs and BasicAuthenticationSecretParser.cs).
 */
export const CLIENT_ID_MAX_LENGTH = 100;
export const CLIENT_SECRET_MAX_LENGTH = 100;

export interface ClientCredentials {
    readonly id: pulumi.Output<string>;
    /** Always a secret. */
    readonly secret: pulumi.Output<string>;
}

/**
 * Options shared by the generated id and secret: letters and digits only, so the values survive JSON inside
 * JSON, shells and URL-encoded forms unchanged.
 */
function alphanumeric(length: number, rotation: pulumi.Input<string> | undefined) {
    return {
        length,
        special: false,
        upper: true,
        lower: true,
        numeric: true,
        keepers: rotation === undefined ? undefined : { rotation },
    };
}

export function createClientCredentials(
    name: string,
    client: Client | undefined,
    parent: pulumi.Resource,
): ClientCredentials {
    const id =
        client?.id !== undefined
            ? pulumi.output(client.id)
            : new random.RandomString(`${name}-client-id`, alphanumeric(CLIENT_ID_LENGTH, client?.rotation), { parent })
                  .result;
    const secret =
        client?.secret !== undefined
            ? pulumi.output(client.secret)
            : new random.RandomPassword(`${name}-client-secret`, alphanumeric(CLIENT_SECRET_LENGTH, client?.rotation), {
                  parent,
              }).result;
    return { id, secret: pulumi.secret(secret) };
}
