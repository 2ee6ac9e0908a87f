import { defineProject } from "vitest/config"

export default defineProject({
  // Workspace tests run on the TypeScript sources, not on dist (see the exports' source condition).
  ssr: { resolve: { conditions: ["@effect-socketcluster/source"] } },
  test: {
    name: "server",
    include: ["test/**/*.test.ts"],
    environment: "node",
    setupFiles: ["test/setup.ts"],
    // The hardening tests measure memory after a full collection (global.gc).
    execArgv: ["--expose-gc"],
    // The files share one worker and its loaded modules (about a fifth of the project's
    // time was each file importing effect and the server again). They can: every file
    // starts its own servers on port 0, its v14 clients do not multiplex, and the globals
    // they touch (gc, the deleted WebSocket) are the same for all of them.
    isolate: false,
    // Projects do not inherit the root config's test options: each sets its timeouts.
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
