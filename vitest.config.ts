import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*"],
    // A fresh worker per test file is on purpose where files start real processes or
    // change process globals differently (the server project shares one: see its config),
    // so vitest's hint to turn isolation off is noise; it would also print after the
    // summary line CI reads.
    experimental: { diagnostics: { isolate: false } }
    // Timeouts and isolation are set per project (packages/*/vitest.config.ts): projects
    // do not inherit the root's test options.
  }
})
