import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "server",
    include: ["test/**/*.test.ts"],
    environment: "node",
    setupFiles: ["test/setup.ts"],
    // The hardening tests measure memory after a full collection (global.gc).
    execArgv: ["--expose-gc"]
  }
})
