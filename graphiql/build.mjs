// Build the GraphiQL bundle into ../schema/static/graphiql/ and record what it was built
// from in BUILD.json (tests/schema/test_graphiql.py fails when either side changed since).
// Run: npm ci && npm run build
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const outdir = join(here, "..", "schema", "static", "graphiql");

const common = {
  bundle: true,
  minify: true,
  legalComments: "none",
  target: "es2022",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
};

rmSync(outdir, { recursive: true, force: true });

await esbuild.build({
  ...common,
  entryPoints: { index: join(here, "src", "index.js") },
  outdir,
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".ttf": "file", ".woff": "file", ".woff2": "file" },
});

// Monaco's workers, as classic scripts (see src/workers.js).
await esbuild.build({
  ...common,
  entryPoints: {
    "editor.worker": join(here, "node_modules/monaco-editor/esm/vs/editor/editor.worker.js"),
    "json.worker": join(here, "node_modules/monaco-editor/esm/vs/language/json/json.worker.js"),
    "graphql.worker": join(here, "node_modules/monaco-graphql/esm/graphql.worker.js"),
  },
  outdir,
  format: "iife",
});

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function digest(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

const inputs = ["package.json", "package-lock.json", "build.mjs", ...files(join(here, "src")).map((p) => relative(here, p))].sort();
const build = {
  inputs: Object.fromEntries(inputs.map((name) => [name, digest(join(here, name))])),
  outputs: Object.fromEntries(
    files(outdir).map((p) => relative(outdir, p)).sort().map((name) => [name, digest(join(outdir, name))]),
  ),
};
writeFileSync(join(outdir, "BUILD.json"), JSON.stringify(build, null, 2) + "\n");
