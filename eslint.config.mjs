import tseslint from "typescript-eslint";

const providerBarrels = [
  {
    name: "@cdktf/provider-aws",
    message: "Import provider classes by deep path (e.g. @cdktf/provider-aws/lib/eks-node-group): the barrel loads 2,216 modules (~4 s, ~1 GB) per process.",
  },
  {
    name: "@cdktf/provider-helm",
    message: "Import provider classes by deep path (e.g. @cdktf/provider-helm/lib/release).",
  },
  {
    name: "@cdktf/provider-kubernetes",
    message: "Import provider classes by deep path (e.g. @cdktf/provider-kubernetes/lib/deployment-v1): the barrel loads every binding per process.",
  },
];

export default tseslint.config(
  { ignores: ["node_modules/**", "lib/**", "**/cdktf.out/**", "**/*.js", "**/*.cjs", "**/*.mjs"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "no-restricted-imports": ["error", { paths: providerBarrels }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Tests read synthesized Terraform JSON, which has no static type.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // The planner is pure: no cdktf, no providers, no constructs (a test enforces this too).
    files: ["planner/**/*.ts", "catalog/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: providerBarrels,
          patterns: [{ group: ["cdktf", "cdktf/*", "@cdktf/*", "constructs"], message: "planner/ and catalog/ must not depend on cdktf, providers or constructs." }],
        },
      ],
    },
  },
);
