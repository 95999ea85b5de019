// Typed documents from the committed SDL: src/gql/ for the browser UI, tests/gql/ for
// the client tests (kept apart so the UI bundle carries only its own operations), and
// tests/gql/possible-types.ts: which types implement each interface (RoomEvent), for
// Apollo's InMemoryCache to match fragments on them.
// CODEGEN_OUT lets the freshness test generate into a scratch directory.
import type { CodegenConfig } from "@graphql-codegen/cli";

const out = process.env.CODEGEN_OUT ?? ".";

const output = (dir: string) => ({
  documents: [`${dir}/**/*.ts`, `!${dir}/gql/**`],
  preset: "client" as const,
  presetConfig: { fragmentMasking: false },
  config: {
    scalars: { DateTime: "string" },
    useTypeImports: true,
    enumsAsTypes: true,
  },
});

const config: CodegenConfig = {
  schema: "../schema.graphql",
  ignoreNoDocuments: false,
  generates: {
    [`${out}/src/gql/`]: output("src"),
    [`${out}/tests/gql/`]: output("tests"),
    [`${out}/tests/gql/possible-types.ts`]: {
      plugins: ["fragment-matcher"],
      config: { apolloClientVersion: 3, useExplicitTyping: true },
    },
  },
};

export default config;
