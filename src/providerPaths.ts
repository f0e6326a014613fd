/**
 * Local paths handed to providers (the command provider's scripts, the Docker provider's build context). The
 * providers resolve a relative path from their own working directory, which is not always the program's.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/**
 * The directory the providers run in, when the program can know it. The Pulumi CLI starts the program and the
 * providers in the same directory (the project's, or its `main` folder) and passes the program its project root.
 * An Automation API inline program runs in its host process's directory while the providers run in the workspace's
 * `workDir` (a temporary folder by default), and it is not passed the root: the SDK then reports a placeholder that
 * is not an absolute path.
 */
export function providerWorkingDirectory(
    rootDirectory: string = pulumi.runtime.getRootDirectory(),
    programDirectory: string = process.cwd(),
): string | undefined {
    return path.isAbsolute(rootDirectory) ? programDirectory : undefined;
}

/**
 * `target` (absolute, or relative to the program's working directory) as a provider must receive it. Relative to
 * the providers' directory with "/" separators when that directory is known: the same checkout in another folder,
 * on another machine or on another OS then gives the same inputs, so nothing is rebuilt or re-run. Absolute
 * otherwise, so that it is found whatever directory the providers run in.
 */
export function pathForProviders(target: string, workingDirectory: string | undefined = providerWorkingDirectory()): string {
    const absolute = path.resolve(target);
    if (workingDirectory === undefined) {
        return absolute;
    }
    return path.relative(workingDirectory, absolute).split(path.sep).join("/") || ".";
}
