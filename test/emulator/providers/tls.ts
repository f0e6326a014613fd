// Emulated @pulumi/tls (a bridge of hashicorp/terraform-provider-tls): PrivateKey and SelfSignedCert, for
// previews only. Check and Diff follow the provider's schema (internal/provider/resource_private_key.go: every
// argument RequiresReplace, `algorithm` required, RSA default 2048 bits; resource_self_signed_cert.go: every
// argument RequiresReplace, required `private_key_pem`, `validity_period_hours`, `allowed_uses`); at preview the
// generated values (keys, PEMs, validity dates) are unknown. Creating one is refused: generating an X.509
// certificate needs more than Node's crypto offers, and the programs deployed through the emulator give their
// signing certificate as a file.
import { PropertyMap, UNKNOWN, plainEqual, reveal } from "../values";
import { CheckFailure, CheckResult, CreateResult, DiffResult, EmulatedProvider, ProviderContext, changedKeys, unsupportedType } from "./provider";

const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
const SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert";
const ALGORITHMS = ["RSA", "ECDSA", "ED25519"];

export class TlsProvider implements EmulatedProvider {
    readonly name = "tls";

    /** The tls provider's configuration has no ForceNew property: a move between tls providers never replaces (the bridge's DiffConfig). */
    diffConfig(): boolean {
        return false;
    }

    check(type: string, _olds: PropertyMap | undefined, news: PropertyMap): CheckResult {
        const failures: CheckFailure[] = [];
        const plain = reveal(news) as PropertyMap;
        if (type === PRIVATE_KEY) {
            if (!ALGORITHMS.includes(String(plain.algorithm))) {
                failures.push({ property: "algorithm", reason: `algorithm must be one of ${ALGORITHMS.join(", ")}` });
            }
            const defaults: PropertyMap = plain.algorithm === "RSA" ? { rsaBits: 2048 } : plain.algorithm === "ECDSA" ? { ecdsaCurve: "P224" } : {};
            return { inputs: { ...defaults, ...news }, failures };
        }
        if (type === SELF_SIGNED_CERT) {
            for (const required of ["privateKeyPem", "validityPeriodHours", "allowedUses"]) {
                if (news[required] === undefined) failures.push({ property: required, reason: `missing required property '${required}'` });
            }
            return { inputs: { earlyRenewalHours: 0, isCaCertificate: false, setSubjectKeyId: false, ...news }, failures };
        }
        return unsupportedType(this.name, type);
    }

    diff(_type: string, oldInputs: PropertyMap, _oldOutputs: PropertyMap, news: PropertyMap): DiffResult {
        const changed = changedKeys(oldInputs, news, (a, b) => plainEqual(a as never, b as never));
        return { changedKeys: changed, replaceKeys: changed, deleteBeforeReplace: false };
    }

    async create(type: string, inputs: PropertyMap, ctx: ProviderContext, preview: boolean): Promise<CreateResult> {
        if (!preview) {
            throw new Error(`${ctx.urn}: the emulated tls provider previews ${type} but does not generate keys or certificates; ` +
                "deploy with a signing certificate file (signingCertificate.path)");
        }
        const computed = type === PRIVATE_KEY
            ? ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"]
            : ["certPem", "validityStartTime", "validityEndTime", "readyForRenewal"];
        return { id: UNKNOWN, outputs: { ...inputs, ...Object.fromEntries(computed.map(k => [k, UNKNOWN])) } };
    }

    async update(_type: string, _id: string, oldOutputs: PropertyMap, news: PropertyMap): Promise<PropertyMap> {
        return { ...oldOutputs, ...news };
    }

    async delete(): Promise<void> {
        // Keys and certificates live only in state.
    }

    async read(_type: string, _id: string, outputs: PropertyMap): Promise<PropertyMap> {
        return outputs;
    }
}
