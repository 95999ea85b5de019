// Typed documents for the UI and the client tests, from the committed SDL.
// CODEGEN_OUT lets the freshness test generate into a scratch directory.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.ts", "tests/**/*.ts", "!src/gql/**"],
  ignoreNoDocuments: false,
  generates: {
    [process.env.CODEGEN_OUT ?? "src/gql/"]: {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: "string" },
        useTypeImports: true,
        enumsAsTypes: true,
        skipTypename: false,
      },
    },
  },
};

export default config;
