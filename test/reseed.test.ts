import { strict as assert } from "assert";
import { clientDefinition } from "../src/configuration";
import { identityServerSecretHash, parseRestartToken, storedClient } from "../src/reseed";

describe("client re-seeding inputs", () => {
    it("hashes a secret as IdentityServer4 stores it (Base64 of SHA-256 of the UTF-8 bytes)", () => {
        // "secret".Sha256(), the value in IdentityServer4's own samples; the second from `printf | openssl dgst -sha256 -binary | base64`.
        assert.equal(identityServerSecretHash("secret"), "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=");
        assert.equal(identityServerSecretHash("pässwörd"), "RpcL73Cs7YEj8NXQlHF+KlzUEgQeA7JjdgSf5lsoNKQ=");
    });

    it("hands the script the configured client with its secrets hashed, nothing else changed", () => {
        const definition = clientDefinition({
            id: "client-id-000001",
            name: "Creatio",
            secret: "Client-Secret-0000000000000000000001",
            creatioUrl: "https://creatio.example.com/",
            accessTokenLifetimeSeconds: 600,
        });
        const { Secrets, ...rest } = definition;
        assert.deepEqual(storedClient(definition), { ...rest, SecretHashes: Secrets.map(identityServerSecretHash) });
        assert.ok(!JSON.stringify(storedClient(definition)).includes("Client-Secret-0000000000000000000001"));
    });

    it("reads the restart token from the re-seed step's output: empty until it deletes rows", () => {
        assert.equal(parseRestartToken(undefined), "");
        assert.equal(parseRestartToken(""), "");
        assert.equal(parseRestartToken("not json"), "");
        assert.equal(parseRestartToken(JSON.stringify({ clientId: "c", deletedClients: 0, addedSecrets: 0, restartToken: "" })), "");
        assert.equal(parseRestartToken(`note\n${JSON.stringify({ clientId: "c", restartToken: "0123456789abcdef" })}\n`), "0123456789abcdef");
    });
});
