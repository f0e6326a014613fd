// The repository's programs as a user has them after `npm install`: each example copied to a folder of its own
// whose node_modules holds what its package.json asks for, linked to this checkout (`creatio-identity-service`
// from `file:../..` is the checkout itself, @pulumi/* and @types/* the checkout's installed copies, so that the
// program and the package share one @pulumi/pulumi as an install does). The quickstart runs in place.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const REPOSITORY = path.join(__dirname, "..", "..");
export const FIXTURES = path.join(REPOSITORY, "test", "fixtures");
export const IDENTITY_SERVICE_FOLDER = path.join(FIXTURES, "identity-service");
export const SIGNING_CERTIFICATE = path.join(FIXTURES, "certificates", "signing.pfx");

/** A copy of examples/<name> with its dependencies installed as links; returns the program folder. */
export function installedExample(name: string): string {
    const source = path.join(REPOSITORY, "examples", name);
    const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `emulator-${name}-`)), name);
    fs.cpSync(source, target, { recursive: true, filter: file => !file.includes(`${path.sep}node_modules`) });
    const modules = path.join(target, "node_modules");
    fs.mkdirSync(modules);
    const packageJson = JSON.parse(fs.readFileSync(path.join(target, "package.json"), "utf8"));
    const dependencies = Object.keys({ ...packageJson.dependencies, ...packageJson.devDependencies });
    for (const dependency of dependencies) {
        const linked = dependency === "creatio-identity-service"
            ? REPOSITORY
            : path.join(REPOSITORY, "node_modules", dependency);
        if (!fs.existsSync(linked)) throw new Error(`examples/${name} depends on ${dependency}, which this checkout has not installed`);
        fs.mkdirSync(path.dirname(path.join(modules, dependency)), { recursive: true });
        fs.symlinkSync(linked, path.join(modules, dependency), "dir");
    }
    // TypeScript reads every @types package of node_modules/@types (the examples' tsconfig names none).
    fs.mkdirSync(path.join(modules, "@types"), { recursive: true });
    for (const types of ["node"]) {
        const link = path.join(modules, "@types", types);
        if (!fs.existsSync(link)) fs.symlinkSync(path.join(REPOSITORY, "node_modules", "@types", types), link, "dir");
    }
    return target;
}
