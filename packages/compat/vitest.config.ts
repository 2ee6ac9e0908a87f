import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "compat",
    include: ["test/**/*.test.ts"],
    environment: "node",
    setupFiles: ["test/setup.ts"]
  }
})
