// What a reviewer sees in `pulumi preview --diff` when an IIS step script changes between package versions.
// The IIS steps carry their script as `powershell.exe … -EncodedCommand <base64 of UTF-16LE>` (cmd.exe, which
// OpenSSH for Windows runs commands through, would mangle quotes), so the preview shows one changed base64 line:
// the change cannot be read in the preview. The same change as script text in a property would read line by line.
import { strict as assert } from "assert";
import { ResourceState } from "./engine";
import { renderPreview } from "./render";
import { encodedCommandLine } from "../../src/powershell";
import { readScript } from "../../src/packagedScripts";

const URN = "urn:pulumi:dev::iis::creatio-identity-service:index:IdentityService$command:remote:Command::identity-service-iis-prerequisites";

function updateOf(before: string, after: string): string {
    const old: ResourceState = {
        urn: URN, type: "command:remote:Command", custom: true, id: "prerequisites-1a2b3c4d",
        inputs: { create: before }, outputs: {}, dependencies: [], propertyDependencies: {},
    };
    return renderPreview("dev", [{
        op: "update", urn: URN, type: old.type, old, new: { ...old, inputs: { create: after } }, changedKeys: ["create"], replaceKeys: [],
    }]);
}

describe("preview diff of an IIS script change", () => {
    const script = readScript("iis/prerequisites.ps1");
    const line = script.split("\n").find(l => l.includes("W3SVC"))!;
    const changed = script.replace(line, line.replace("W3SVC", "W3SVC service"));

    it("today: the command line is -EncodedCommand base64, so the reviewer sees one unreadable changed line", () => {
        assert.ok(line, "the prerequisites script checks the W3SVC service");
        const text = updateOf(encodedCommandLine(script), encodedCommandLine(changed));
        const diffLines = text.split("\n").filter(l => l.trim().startsWith("~ create"));
        assert.equal(diffLines.length, 1);
        assert.match(diffLines[0], /~ create: "powershell\.exe .*-EncodedCommand [A-Za-z0-9+/=]+" => "powershell\.exe .*-EncodedCommand [A-Za-z0-9+/=]+"/);
        assert.ok(!text.includes("W3SVC"), "no script text is visible");
    });

    it("the same change as script text reads line by line (what a readable transport would show)", () => {
        const text = updateOf(script, changed);
        assert.match(text, /~ create: \(multi-line text\)/);
        assert.ok(text.includes(`- ${line}`), text);
        assert.ok(text.includes(`+ ${line.replace("W3SVC", "W3SVC service")}`), text);
    });
});
