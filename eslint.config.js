// Lint config: typescript-eslint's recommended rules over all TypeScript sources.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", URL: "readonly", fetch: "readonly", performance: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Library code logs through the structured logger; only CLIs and benches print.
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // Prepended verbatim to CommonJS bundles; the bundler substitutes __WEFT_PROTO_HASH__.
    files: ["scripts/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", globalThis: "readonly", __WEFT_PROTO_HASH__: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["bench/**", "scripts/**", "lab/**", "cli/**", "test/**", "**/main.ts", "**/*.mjs"],
    rules: { "no-console": "off" },
  },
);
