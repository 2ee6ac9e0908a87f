import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*"],
    // One fresh worker per test file is on purpose (every file starts real servers and
    // clients, and some change process globals: gc, WebSocket), so vitest's hint to turn
    // isolation off is noise; it would also print after the summary line CI reads.
    experimental: { diagnostics: { isolate: false } },
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
