// Monaco runs its language services in web workers. They are bundled next to this file
// (build.mjs) and loaded from our own static files: GraphiQL's setup-workers modules
// would load them from esm.sh or rely on a webpack/vite worker loader.
const WORKERS = { json: "json.worker.js", graphql: "graphql.worker.js" };

globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    return new Worker(new URL(WORKERS[label] ?? "editor.worker.js", import.meta.url));
  },
};
