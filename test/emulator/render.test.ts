// What a reviewer sees in `pulumi preview --diff` when an IIS step script changes between package versions, with the
// step inputs built by the component's own functions for two versions of install.ps1: the `scripts` step's
// standard input (every step script as plain lines) shows the changed lines, and the install step's command, one
// readable line, shows the new file name. No base64 shows but the uploader's own command line.
import { strict as assert } from "assert";
import { ResourceState, Step } from "./engine";
import { decodeEncoded, renderPreview } from "./render";
import { secret } from "./values";
import { commandLine } from "../../src/powershell";
import {
    fileRunner, remoteCommandLine, scriptFile, scriptsDirectory, scriptsInput, stepScript, UploadedFile, uploadedFiles,
} from "../../src/targets/iis";

const PREFIX = "urn:pulumi:dev::iis::creatio-identity-service:index:IdentityService$command:remote:Command::";
const DIR = scriptsDirectory("C:\\Creatio\\IdentityService");
const CONNECTION = secret({ host: "win-iis.example.com", user: "Administrator", password: "Ssh-Secret-1" });
const BASE64 = /[A-Za-z0-9+/]{60,}={0,2}/;

/** The remote command inputs of the `scripts` and `install` steps for one version of the uploaded files. */
function inputs(files: UploadedFile[]) {
    const install = files.find(file => file.name.startsWith("install-"))!;
    const line = commandLine(fileRunner(install, DIR));
    return {
        scripts: {
            connection: CONNECTION,
            create: remoteCommandLine("scripts", DIR),
            update: remoteCommandLine("scripts", DIR),
            delete: remoteCommandLine("delete-scripts", DIR),
            stdin: scriptsInput(DIR, files),
            triggers: ["win-iis.example.com:22", DIR],
        },
        install: {
            connection: CONNECTION,
            create: line,
            update: line,
            delete: remoteCommandLine("delete-install", DIR),
            stdin: JSON.stringify({ archivePath: "C:\\Packages\\IdentityService.zip", installPath: "C:\\Creatio\\IdentityService" }),
            triggers: ["win-iis.example.com:22", "C:\\Creatio\\IdentityService"],
        },
    };
}

function state(name: string, values: Record<string, unknown>): ResourceState {
    return {
        urn: PREFIX + name, type: "command:remote:Command", custom: true, id: `${name}-1a2b3c4d`,
        inputs: values as ResourceState["inputs"], outputs: {}, dependencies: [], propertyDependencies: {},
    };
}

function changed(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
    return Object.keys(after).filter(key => JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort();
}

describe("preview diff of an IIS script change", () => {
    const source = stepScript("install");
    const line = source.split("\n").find(l => l.includes("app_offline.htm"))!;
    const edited = line.replace("app_offline.htm", "app_offline.htm (taken offline)");
    const v1 = uploadedFiles();
    const v2 = v1.map(file => (file.name.startsWith("install-") ? scriptFile("install", source.replace(line, edited)) : file));
    const [oldFile, newFile] = [v1, v2].map(files => files.find(file => file.name.startsWith("install-"))!.name);
    const before = inputs(v1);
    const after = inputs(v2);
    const steps: Step[] = (["scripts", "install"] as const).map(step => {
        const old = state(`identity-service-iis-${step}`, before[step]);
        return {
            op: "update", urn: old.urn, type: old.type, old, new: state(`identity-service-iis-${step}`, after[step]),
            changedKeys: changed(before[step], after[step]), replaceKeys: [],
        };
    });
    const text = renderPreview("dev", steps);
    const block = (step: string) => text.slice(text.indexOf(`::identity-service-iis-${step}]`)).split("\n    ~ command:")[0];

    it("shows the changed lines of the script in the scripts step, under its new file name", () => {
        assert.ok(line, "install.ps1 mentions app_offline.htm");
        assert.notEqual(oldFile, newFile);
        assert.deepEqual(steps[0].changedKeys, ["stdin"], "only the files change; the uploader's own command stays");
        const scripts = block("scripts");
        assert.match(scripts, /~ stdin: \n/);
        const count = source.split("\n").length - 1;
        assert.ok(scripts.includes(`- file ${oldFile} ${count}`), scripts);
        assert.ok(scripts.includes(`+ file ${newFile} ${count}`), scripts);
        assert.ok(scripts.includes(`- ${line}`), scripts);
        assert.ok(scripts.includes(`+ ${edited}`), scripts);
        // Two lines of context around each change, the rest left out as the display does.
        assert.ok(scripts.includes("..."));
        assert.ok(scripts.split("\n").length < 40, `a short diff, not every line of every script:\n${scripts}`);
    });

    it("shows the new file name in the command of the step that runs it, as one readable line", () => {
        assert.deepEqual(steps[1].changedKeys, ["create", "update"]);
        const install = block("install");
        const quoted = (name: string) => JSON.stringify(commandLine(fileRunner({ name, content: "" }, DIR)));
        assert.ok(install.includes(`~ create: ${quoted(oldFile)} => ${quoted(newFile)}`), install);
        assert.match(install, new RegExp(`\\\\\\\\IdentityService\\.deploy\\\\\\\\${newFile.replace(".", "\\.")}'`));
    });

    it("shows no base64 in the change, and none in a first deploy but the uploader's own command line", () => {
        assert.doesNotMatch(text, BASE64, text);
        const created = renderPreview("dev", (["scripts", "install"] as const).map(step => {
            const resource = state(`identity-service-iis-${step}`, after[step]);
            return { op: "create", urn: resource.urn, type: resource.type, new: resource, changedKeys: [], replaceKeys: [] } as Step;
        }));
        const base64Lines = created.split("\n").filter(l => BASE64.test(l)).map(l => l.trim().split(":")[0].trim());
        assert.deepEqual(base64Lines, ["create", "delete", "update"], created);
        assert.ok(created.split("\n").filter(l => BASE64.test(l)).every(l => l.includes("-EncodedCommand")));
        assert.ok(!created.includes("Ssh-Secret-1"));
        // The display cuts long values; the runner names its file first, so a first deploy shows which file runs.
        assert.ok(created.includes(`$file='${DIR}\\${newFile}'`.replace(/\\/g, "\\\\")), created);
    });

    it("is not mistaken for JSON or YAML by the display, which would show the files decoded instead of as lines", () => {
        assert.equal(decodeEncoded(after.scripts.stdin), undefined);
        assert.deepEqual(decodeEncoded(after.install.stdin)?.kind, "json");
    });
});
