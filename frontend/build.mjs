// Bundle the browser UI into the Django static file (committed), or with --tests the
// client tests into .build/ for `node --test`. --outfile=PATH overrides the UI's output.
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const args = process.argv.slice(2);
const outfileArg = args.find((arg) => arg.startsWith("--outfile="));

if (args.includes("--tests")) {
  await build({
    entryPoints: readdirSync("tests")
      .filter((name) => name.endsWith(".test.ts"))
      .map((name) => `tests/${name}`),
    outdir: ".build",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
} else {
  await build({
    entryPoints: ["src/main.ts"],
    outfile: outfileArg ? outfileArg.slice("--outfile=".length) : "../chat/static/chat/chat.js",
    bundle: true,
    minify: true,
    legalComments: "none",
    format: "iife",
    target: "es2020",
    platform: "browser",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
}
