/**
 * The production CLI as users start it: `packages/cli/dist/main.js` (the built JavaScript
 * the `effect-socketcluster` bin runs), with its default settings — pretty `info` logs,
 * `/metrics`, the demo app's middleware and procedures (`echo` among them), the memory
 * broker. Built once per invocation with the project's `tsc -b tsconfig.build.json`
 * (what `./dev build` runs), so what is measured is what `pnpm pack` ships.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Launch } from "../target-process.js"
import type { Unavailable } from "./unavailable.js"

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))
const main = join(repoRoot, "packages/cli/dist/main.js")

/** Builds the packages (incremental) and starts `node packages/cli/dist/main.js`. */
export const prepareCli = (): Launch | Unavailable => {
  const tsc = join(repoRoot, "node_modules/.bin/tsc")
  if (!existsSync(tsc)) return { unavailable: "node_modules/.bin/tsc not found (run ./dev once)" }
  const build = spawnSync(tsc, ["-b", "tsconfig.build.json"], { cwd: repoRoot, encoding: "utf8" })
  if (build.status !== 0) return { unavailable: `build failed: ${build.stdout}${build.stderr}`.trim() }
  if (!existsSync(main)) return { unavailable: "packages/cli/dist/main.js missing after the build" }
  return { args: [main] }
}
