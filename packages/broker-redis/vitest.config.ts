import { defineProject } from "vitest/config"

export default defineProject({
  // Workspace tests run on the TypeScript sources, not on dist (see the exports' source condition).
  ssr: { resolve: { conditions: ["@effect-socketcluster/source"] } },
  test: {
    name: "broker-redis",
    include: ["test/**/*.test.ts"],
    environment: "node",
    setupFiles: ["test/setup.ts"],
    // Projects do not inherit the root config's test options: each sets its timeouts.
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
