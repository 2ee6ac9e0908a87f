import { defineProject } from "vitest/config"

export default defineProject({
  // Workspace tests run on the TypeScript sources, not on dist (see the exports' source condition).
  ssr: { resolve: { conditions: ["@effect-socketcluster/source"] } },
  test: {
    name: "framework",
    include: ["test/**/*.test.ts"],
    environment: "node",
    setupFiles: ["test/setup.ts"]
  }
})
