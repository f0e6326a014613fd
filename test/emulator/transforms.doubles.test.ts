// The engine's `transforms` as the doubles run them (transforms.js), against pulumi/pulumi
// pkg/resource/deploy/source_eval.go @ v3.248.0: the order (the resource's own, then each parent's, nearest first,
// 2171-2232), the request a transform receives and the response that replaces properties and options as a whole
// (1344-1419), and what the doubles refuse.
import "../support/mocks";
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { registered, resetMocks, settle } from "../support/mocks";

/** Every RegisterResourceRequest as the mock monitor receives it after the transforms ran. */
function capturedRequests(): Map<string, any> {
    const requests = new Map<string, any>();
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, callback: unknown) => void };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        // After the transforms: wrap the callback of the transformed request.
        register(req, (error: unknown, response: unknown) => {
            requests.set(req.getName(), req);
            (callback as (e: unknown, r: unknown) => void)(error, response);
        });
    };
    return requests;
}

class Thing extends pulumi.CustomResource {
    constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super("test:index:Thing", name, props, opts);
    }
}

class Group extends pulumi.ComponentResource {
    constructor(name: string, build: (parent: pulumi.Resource) => void, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Group", name, {}, opts);
        build(this);
        this.registerOutputs({});
    }
}

const marking =
    (label: string, order: string[]): pulumi.ResourceTransform =>
    args => {
        order.push(`${label}:${args.name}`);
        return { props: { ...args.props, marks: [...((args.props.marks as string[] | undefined) ?? []), label] }, opts: args.opts };
    };

async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !condition(); i++) await settle();
}

describe("engine transforms in the doubles (source_eval.go @ v3.248.0)", () => {
    beforeEach(resetMocks);

    it("runs a resource's own transforms, then each parent's, nearest first, each on what the one before returned (2171-2232)", async () => {
        const order: string[] = [];
        new Group(
            "outer",
            outer => {
                new Group(
                    "inner",
                    inner => {
                        new Thing("thing", { marks: ["given"] }, { parent: inner, transforms: [marking("own", order)] });
                    },
                    { parent: outer, transforms: [marking("inner", order)] },
                );
            },
            { transforms: [marking("outer", order)] },
        );
        await until(() => registered.some(r => r.name === "thing"));
        assert.deepEqual(order, ["outer:outer", "inner:inner", "outer:inner", "own:thing", "inner:thing", "outer:thing"]);
        assert.deepEqual(registered.find(r => r.name === "thing")!.inputs.marks, ["given", "own", "inner", "outer"]);
    });

    it("leaves a resource as it was when a transform returns nothing, and replaces the options as a whole when it returns some (1344-1419)", async () => {
        const requests = capturedRequests();
        new Group("kept", parent => new Thing("kept-thing", { a: 1 }, { parent, ignoreChanges: ["a"] }), {
            transforms: [() => undefined],
        });
        new Group(
            "cleared",
            parent => new Thing("cleared-thing", { a: 1 }, { parent, ignoreChanges: ["a"], deleteBeforeReplace: true }),
            { transforms: [args => (args.type === "test:index:Thing" ? { props: args.props, opts: { replaceOnChanges: ["a"] } } : undefined)] },
        );
        await until(() => requests.has("kept-thing") && requests.has("cleared-thing"));
        const kept = requests.get("kept-thing");
        assert.deepEqual(kept.getIgnorechangesList(), ["a"]);
        const cleared = requests.get("cleared-thing");
        assert.deepEqual(cleared.getIgnorechangesList(), [], "options the transform did not return are gone");
        assert.deepEqual(cleared.getReplaceonchangesList(), ["a"]);
        assert.equal(cleared.getDeletebeforereplacedefined(), false);
    });

    it("refuses an option a transform sets that the doubles cannot honour", async () => {
        const failures: unknown[] = [];
        const listener = (reason: unknown) => void failures.push(reason);
        process.on("unhandledRejection", listener);
        try {
            new Group("retained", parent => new Thing("retained-thing", {}, { parent }), {
                transforms: [args => (args.type === "test:index:Thing" ? { props: args.props, opts: { ...args.opts, hooks: { beforeCreate: [] } } } : undefined)],
            });
            await until(() => failures.length > 0);
        } finally {
            process.off("unhandledRejection", listener);
        }
        assert.match(String(failures[0]), /set hooks, which the test doubles of the engine do not honour/);
    });
});
