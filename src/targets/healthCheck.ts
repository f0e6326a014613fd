/**
 * The health check of the container targets (Docker and Swarm): one default probe, and one check of a given one.
 */
import * as pulumi from "@pulumi/pulumi";
import { ArgumentCheck, Check, describe } from "../validation";

/** Inside the container: the vendor's image serves on port 80 (and 443 for HTTPS) from /app. */
export const CONTAINER_HTTP_PORT = 80;

/**
 * The default health check: the vendor's image (Microsoft's ASP.NET Core image, on Debian's `bookworm-slim` or
 * `bullseye-slim`) has `bash`, `head` and `grep` but neither `curl` nor `wget`, so the probe asks for the discovery
 * document over bash's `/dev/tcp`. An image without `bash` (Alpine, chiseled) needs a probe of its own.
 */
export const DEFAULT_HEALTH_CHECK = [
    "CMD",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/127.0.0.1/${CONTAINER_HTTP_PORT} && ` +
        "printf 'GET /.well-known/openid-configuration HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && " +
        "head -n 1 <&3 | grep -q ' 200 '",
];

/** Docker's `test` form that turns health checking off, the image's own `HEALTHCHECK` included. */
export const NO_HEALTH_CHECK = ["NONE"];

/** The problem with a health check command in Docker's `test` form, or undefined; `NONE` only where `allowNone`. */
export function healthCheckProblem(allowNone: boolean): Check<string[]> {
    const kinds = allowNone ? ["CMD", "CMD-SHELL", "NONE"] : ["CMD", "CMD-SHELL"];
    return value => {
        if (!Array.isArray(value) || value.length === 0 || !kinds.includes(String(value[0]))) {
            return (
                `is not a health check command; give Docker's \`test\` form, starting with "CMD" or "CMD-SHELL", ` +
                `like ["CMD", "/probe", "--url", "http://localhost/"] or ["CMD-SHELL", "probe"]${allowNone ? ', or ["NONE"] to turn health checking off' : ""}`
            );
        }
        if (value[0] === "NONE" && value.length > 1) {
            return `["NONE"] takes no arguments; give ["NONE"] alone to turn health checking off`;
        }
        if (value[0] !== "NONE" && value.length < 2) {
            return `${describe(value[0])} needs the command after it, like ["${value[0]}", "/probe"]`;
        }
        return undefined;
    };
}

/**
 * Checks a health check argument now when every element is known, else once they resolve; returns the value to use.
 * Undefined gives the default probe.
 */
export function checkedHealthCheck(
    check: ArgumentCheck,
    field: string,
    given: pulumi.Input<pulumi.Input<string>[]> | undefined,
    allowNone: boolean,
): pulumi.Input<string[]> {
    const value = given ?? DEFAULT_HEALTH_CHECK;
    const plain = Array.isArray(value) && value.every(element => typeof element === "string");
    return check.input<string[]>(field, plain ? (value as string[]) : pulumi.output(value), healthCheckProblem(allowNone));
}
