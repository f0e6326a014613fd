// Lint rules: TypeScript's strict set, Pulumi's rules against Outputs in template literals (they render as
// a warning text instead of the value), and the recommended set for the plain JavaScript scripts.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["bin/**", "node_modules/**", "**/node_modules/**", "docs/api/**", "sdk/**"] },
    {
        files: ["**/*.ts"],
        extends: [js.configs.recommended, ...tseslint.configs.strict],
        languageOptions: {
            parserOptions: { project: "./tsconfig.check.json", tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // Tests and mocks handle untyped provider state on purpose.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-non-null-assertion": "off",
            // Names and paths are checked for control characters on purpose.
            "no-control-regex": "off",
        },
    },
    {
        files: ["**/*.js", "**/*.mjs"],
        extends: [js.configs.recommended],
        languageOptions: { globals: { ...globals.node }, sourceType: "commonjs" },
        rules: { "no-control-regex": "off" },
    },
    {
        files: ["**/*.mjs"],
        languageOptions: { sourceType: "module" },
    },
);
