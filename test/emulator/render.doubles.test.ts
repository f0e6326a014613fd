// The emulator's display against pkg/backend/display/object_diff.go @ v3.248.0: how strings are printed and diffed.
// A test of the double (render.ts), not of the package.
import { strict as assert } from "assert";
import { ResourceState } from "./engine";
import { renderPreview } from "./render";

function state(name: string, values: Record<string, unknown>): ResourceState {
    return {
        urn: `urn:pulumi:dev::p::t::${name}`, type: "t", custom: true, id: `${name}-1a2b3c4d`,
        inputs: values as ResourceState["inputs"], outputs: {}, dependencies: [], propertyDependencies: {},
    };
}

describe("the display's rules for strings (object_diff.go)", () => {
    const update = (before: string, after: string) => {
        const old = state("s", { value: before });
        return renderPreview("dev", [{ op: "update", urn: old.urn, type: old.type, old, new: state("s", { value: after }), changedKeys: ["value"], replaceKeys: [] }]);
    };

    it("diffs JSON text as an object, labelled (json)", () => {
        const text = update(JSON.stringify({ a: 1, b: "x" }), JSON.stringify({ a: 2, b: "x" }));
        assert.match(text, /~ value: \(json\) \{\n\s+~ a: 1 => 2\n\s+\}/);
    });

    it("diffs multi-line YAML as an object, labelled (yaml), but leaves one-line 'key: value' text a string", () => {
        assert.match(update("a: 1\nb: 2\n", "a: 1\nb: 3\n"), /~ value: \(yaml\) \{\n\s+~ b: 2 => 3/);
        assert.match(update("a: 1", "a: 2"), /~ value: "a: 1" => "a: 2"/);
    });

    it("diffs other multi-line text line by line with two lines of context and ... for the rest, skipping blank lines", () => {
        const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
        const changedLines = lines.map(l => (l === "line 10" ? "line ten" : l));
        const text = update(lines.join("\n\n"), changedLines.join("\n\n"));
        const body = text.split("~ value: \n")[1].split("\n\nResources:")[0].split("\n").map(l => l.trim());
        assert.deepEqual(body, ["...", "line 8", "line 9", "- line 10", "+ line ten", "line 11", "line 12", "..."]);
    });

    it("prints a created string cut to three lines, as pulumi preview does without --show-full-output", () => {
        const resource = state("s", { value: "1\n2\n3\n4\n5" });
        const text = renderPreview("dev", [{ op: "create", urn: resource.urn, type: resource.type, new: resource, changedKeys: [], replaceKeys: [] }]);
        assert.match(text, /value: "1\\n2\\n3\\n\.\.\."/);
    });
});
