import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "release",
    include: ["test/**/*.test.ts"],
    environment: "node",
    // Builds dist once, so that the test files (which pack, or run ./dev start) never
    // run two builds at the same time.
    globalSetup: ["test/build.ts"],
    // The first npm install on a clean machine downloads the dependencies.
    hookTimeout: 300_000,
    testTimeout: 60_000
  }
})
