// Runs a Pulumi Node.js program the way `pulumi up` starts it, with the resource monitor replaced by
// `pulumi.runtime.setMocks`, and writes what the program registered to a JSON file.
//
// usage: node test/support/runProgram.js <program folder> <result file> <project> <stack> <project root>
// Config comes in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS, as the Pulumi CLI passes it to the language host.
//
// What is Pulumi's own: the Node.js language host starts `@pulumi/pulumi/cmd/run` with the working directory at the
// `main` folder of Pulumi.yaml and the program argument "." (engine getPwdMain), and with
// PULUMI_NODEJS_TYPESCRIPT=true; cmd/run/run.js then takes the entry point from the nearest package.json and
// registers ts-node with the tsconfig.json of that working directory. All of that is run.js itself, called here
// as cmd/run/index.js calls it. What is this test's: the mocks in place of the engine's gRPC monitor (with the
// engine's transforms, test/emulator/transforms.js), and one
// mapping: `creatio-identity-service` resolves to this checkout (its built `bin/`), as the examples'
// `file:../..` dependency does once installed, so that no install is needed.
"use strict";
const fs = require("fs");
const Module = require("module");
const path = require("path");

const [programFolder, resultFile, project, stack, rootDirectory] = process.argv.slice(2);
const packageRoot = path.join(__dirname, "..", "..");

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
    if (request === "creatio-identity-service") {
        return resolveFilename.call(this, packageRoot, ...rest);
    }
    return resolveFilename.call(this, request, ...rest);
};

process.chdir(programFolder);
process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
process.env.PULUMI_NODEJS_PROJECT = project;
process.env.PULUMI_NODEJS_STACK = stack;
// cmd/run sets this from --root-directory before the SDK reads its settings; setMocks below reads them first.
process.env.PULUMI_NODEJS_ROOT_DIRECTORY = rootDirectory;

// The SDK copy the program itself resolves from its folder.
const fromProgram = { paths: [process.cwd()] };
const pulumi = require(require.resolve("@pulumi/pulumi", fromProgram));

/** What providers compute, where a program or the component reads it: fixed stand-ins (the TLS ones from fixtures). */
function computed(type, inputs) {
    const certificates = path.join(packageRoot, "test", "fixtures", "certificates");
    switch (type) {
        case "random:index/randomString:RandomString":
        case "random:index/randomPassword:RandomPassword":
            return { result: "x".repeat(inputs.length ?? 16) };
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8") };
        case "tls:index/selfSignedCert:SelfSignedCert":
            return { certPem: fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8") };
        case "command:local:Command":
        case "command:remote:Command":
            return { stdout: "{}", stderr: "" };
        default:
            return {};
    }
}

const registered = [];
pulumi.runtime.setMocks(
    {
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args.type, args.inputs) } };
        },
        call(args) {
            return args.inputs;
        },
    },
    project,
    stack,
    false,
);
// The engine answers this call once every step is done; under mocks every step is done when it returns.
pulumi.runtime.getMonitor().signalAndWaitForShutdown = (_request, callback) => callback(null, {});
// The engine runs `transforms`; the SDK's mock monitor would drop them (test/emulator/transforms.js).
require("../emulator/transforms").runTransformsOnMocks(pulumi, require.resolve("@pulumi/pulumi", fromProgram));

// The arguments the Node.js language host passes (the monitor address is only checked for presence: the mocks set
// above take its place), then cmd/run/index.js, which parses them and calls run.js as under `pulumi up`.
process.argv = [process.argv[0], path.dirname(require.resolve("@pulumi/pulumi/cmd/run", fromProgram)), "--monitor=mocks", `--project=${project}`, `--stack=${stack}`, `--root-directory=${rootDirectory}`, `--pwd=${process.cwd()}`, "."];
require(require.resolve("@pulumi/pulumi/cmd/run", fromProgram));

// At exit everything the program started has settled: record what it registered and how the run ended (after
// cmd/run's own exit handler, which sets the exit code when the program failed).
process.on("exit", code => {
    fs.writeFileSync(resultFile, JSON.stringify({ cwd: process.cwd(), exitCode: process.exitCode ?? code, registered }));
});
