/**
 * The production CLI as users start it: `packages/cli/dist/bin.js`, the file the
 * `effect-socketcluster` bin runs, with its default settings — pretty `info` logs,
 * `/metrics`, the demo app's middleware and procedures (`echo` among them), the memory
 * broker. Built once per invocation with the project's `scripts/build.mjs` (what
 * `./dev build` runs), so what is measured is what `pnpm pack` ships.
 *
 * A base tree from before the bin was bundled (no `scripts/build.mjs`) is built with
 * `tsc -b` and runs its `dist/main.js`, which was its bin then.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Launch } from "../target-process.js"
import type { Unavailable } from "./unavailable.js"

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))

/** Builds the packages (incremental) and starts `node packages/cli/dist/main.js`. */
export const prepareCli = (): Launch | Unavailable => build(repoRoot)

/**
 * The CLI of another checkout of this repository (with its own `node_modules`), named by
 * `BENCH_BASE_TREE` and built there: a before/after of the CLI in one interleaved run,
 * e.g. `BENCH_BASE_TREE=/tmp/base pnpm bench --targets cli,cli-base`.
 */
export const prepareCliBase = (): Launch | Unavailable => {
  const tree = process.env.BENCH_BASE_TREE
  if (tree === undefined || tree === "") return { unavailable: "BENCH_BASE_TREE is not set" }
  return build(tree)
}

const build = (tree: string): Launch | Unavailable => {
  const tsc = join(tree, "node_modules/.bin/tsc")
  const script = join(tree, "scripts/build.mjs")
  const bundled = existsSync(script)
  const bin = join(tree, bundled ? "packages/cli/dist/bin.js" : "packages/cli/dist/main.js")
  if (!existsSync(tsc)) return { unavailable: `${tsc} not found (run ./dev once there)` }
  const build = bundled
    ? spawnSync(process.execPath, [script], { cwd: tree, encoding: "utf8" })
    : spawnSync(tsc, ["-b", "tsconfig.build.json"], { cwd: tree, encoding: "utf8" })
  if (build.status !== 0) return { unavailable: `build failed: ${build.stdout}${build.stderr}`.trim() }
  if (!existsSync(bin)) return { unavailable: `${bin} missing after the build` }
  return { args: [bin] }
}
