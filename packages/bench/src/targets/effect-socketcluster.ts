/**
 * The library example as a target: `packages/server/examples/start.ts` (owned by the server
 * package: it listens on PORT with the memory broker and default options, an `echo`
 * procedure, client publish allowed, and prints `listening`) bundled once per
 * invocation with esbuild so every run starts plain Node on a single file, like the
 * other targets, with no TypeScript loader in the measured process.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Launch } from "../target-process.js"
import type { Unavailable } from "./unavailable.js"

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))

const findEsbuild = (): string | undefined => {
  const store = join(repoRoot, "node_modules/.pnpm")
  const version = readdirSync(store)
    .filter((name) => name.startsWith("esbuild@"))
    .sort()
    .at(-1)
  const binary = version === undefined ? undefined : join(store, version, "node_modules/esbuild/bin/esbuild")
  return binary !== undefined && existsSync(binary) ? binary : undefined
}

let prepared: Launch | Unavailable | undefined

/**
 * Builds the bundle (once per invocation: the targets that run it with other settings share
 * it); unavailable when the entry point does not exist yet or does not build.
 */
export const prepareEffectSocketcluster = (): Launch | Unavailable => {
  prepared ??= build(repoRoot, "effect-socketcluster")
  return prepared
}

/**
 * The same example from another checkout of this repository (with its own `node_modules`),
 * named by `BENCH_BASE_TREE`: an A/B of two versions of the server in one interleaved run,
 * e.g. `git worktree add /tmp/base <commit>` and `BENCH_BASE_TREE=/tmp/base pnpm bench
 * --targets effect-sc,effect-sc-base`.
 */
export const prepareEffectSocketclusterBase = (): Launch | Unavailable => {
  const tree = process.env.BENCH_BASE_TREE
  if (tree === undefined || tree === "") return { unavailable: "BENCH_BASE_TREE is not set" }
  return build(tree, "effect-socketcluster-base")
}

const build = (tree: string, name: string): Launch | Unavailable => {
  const entry = join(tree, "packages/server/examples/start.ts")
  const bundle = join(repoRoot, `packages/bench/.build/${name}.mjs`)
  if (!existsSync(entry)) return { unavailable: `${entry} does not exist` }
  const esbuild = findEsbuild()
  if (esbuild === undefined) return { unavailable: "esbuild not found under node_modules/.pnpm" }
  mkdirSync(join(repoRoot, "packages/bench/.build"), { recursive: true })
  const result = spawnSync(
    esbuild,
    [
      entry,
      "--bundle",
      "--platform=node",
      "--conditions=@effect-socketcluster/source",
      "--format=esm",
      "--target=node22",
      `--outfile=${bundle}`,
      "--log-level=error",
      // CommonJS dependencies (ws) call require(); give the ESM bundle one.
      "--banner:js=import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);"
    ],
    { encoding: "utf8" }
  )
  if (result.status !== 0) return { unavailable: `esbuild failed: ${result.stderr || result.error?.message}` }
  return { args: [bundle] }
}
