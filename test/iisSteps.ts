/**
 * The IIS steps exactly as the component sends them: built under Pulumi mocks, each step's command (the
 * interpreter's argv and the -Command or -EncodedCommand text, or the SSH command line), its delete command and its standard
 * input, as the command provider would pass them.
 */
import "./support/mocks";
import * as pulumi from "@pulumi/pulumi";
import { IdentityService, IdentityServiceArgs } from "../src";
import { Recorder, resetMocks, valueOf } from "./support/mocks";

export const STEP_ORDER = ["scripts", "prerequisites", "install", "app-pool", "site", "configuration"] as const;
export type StepName = (typeof STEP_ORDER)[number] | "readiness";

export interface StepCommand {
    readonly resource: string;
    /** Local: the interpreter argv; the text is appended as the last argument. */
    readonly interpreter?: string[];
    readonly create: string;
    readonly delete?: string;
    readonly stdin: string;
    readonly triggers?: unknown[];
}

/** Builds the component under mocks and returns each IIS step's command, delete command and stdin. */
export async function stepCommands(name: string, args: IdentityServiceArgs): Promise<Record<StepName, StepCommand>> {
    resetMocks();
    const recorder = new Recorder();
    const service = new IdentityService(name, args, { transformations: [recorder.transformation] });
    await valueOf(service.url);
    const result: Partial<Record<StepName, StepCommand>> = {};
    for (const step of [...STEP_ORDER, "readiness"] as StepName[]) {
        const resource = step === "readiness" ? `${name}-readiness` : `${name}-iis-${step}`;
        const found = recorder.constructed.find(r => r.name === resource);
        if (!found) {
            continue;
        }
        const props = found.props;
        const text = async (value: unknown) => (value === undefined ? undefined : String(await valueOf(value as pulumi.Input<string>)));
        result[step] = {
            resource,
            interpreter: props.interpreter === undefined ? undefined : ((await valueOf(props.interpreter)) as string[]),
            create: (await text(props.create))!,
            delete: await text(props.delete),
            stdin: (await text(props.stdin))!,
            triggers: props.triggers === undefined ? undefined : ((await valueOf(props.triggers)) as unknown[]),
        };
    }
    return result as Record<StepName, StepCommand>;
}
