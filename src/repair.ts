/**
 * The `repair` argument: steps that re-apply what a hand edit may have undone (client re-seeding, the connection to
 * Creatio) take its value, so that a new value is a change of their inputs and each runs its update again. Their
 * refresh cannot do it: a command's Read returns the state as it is (pulumi/pulumi-go-provider infer/resource.go:1353-1363
 * @ v1.3.0, which pulumi/pulumi-command v1.2.1 uses without a Read of its own).
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * A step's environment with the `repair` value, when one is given: a variable the script does not read, there so that
 * a new value is a change of the step's inputs and the step runs its update again. Without one the environment is
 * left as it was, so that stacks that never set it see no change.
 */
export function withRepair(environment: pulumi.Input<Record<string, pulumi.Input<string>>>, repair: pulumi.Input<string> | undefined): pulumi.Input<Record<string, pulumi.Input<string>>> {
    if (repair === undefined) {
        return environment;
    }
    // An Output may resolve to nothing (an unset configuration value): that is no repair value either.
    return pulumi
        .all([environment, repair])
        .apply(([variables, value]) => (value === undefined || value === null ? variables : { ...variables, [REPAIR_VARIABLE]: value }));
}

/** The variable that carries the `repair` value. */
export const REPAIR_VARIABLE = "CREATIO_IDENTITY_SERVICE_REPAIR";

