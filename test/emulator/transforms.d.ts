// Types of transforms.js (plain JavaScript, so that test/support/runProgram.js can load it as well).
import type * as pulumi from "@pulumi/pulumi";

/** The engine's transform bookkeeping for one deployment (see transforms.js). */
export declare class Transforms {
    /** Every transform invocation, in order: "<callback token> <type> <name>". */
    readonly invocations: string[];
    /** Runs the transforms for a RegisterResourceRequest and writes their result into it. */
    apply(req: unknown): Promise<void>;
    /** Keeps a registered resource's own transforms and its parent. */
    record(urn: string, req: unknown): void;
    close(): void;
}

/** Makes the current mock monitor run transforms as the engine does; returns the bookkeeping. */
export declare function runTransformsOnMocks(sdk: typeof pulumi, sdkEntry?: string): Transforms;
