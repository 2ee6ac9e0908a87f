// The build every entry point runs (`pnpm build`, `./dev start`, `./dev pack`, the test
// setup, the benchmark): the incremental `tsc -b tsconfig.build.json`, then the CLI's bin,
// packages/cli/dist/bin.js: packages/cli/dist/main.js bundled by esbuild with its
// dependencies into one ES module.
//
// Why the bin is a bundle: run from dist/ with `effect` as ~235 separate modules, the CLI
// at steady load kept 8x more young objects alive per scavenge than the same code bundled
// (4 MB against 0.5 MB survived), so its scavenges took ~17 ms instead of ~2 ms and its
// subscribe rate fell 15-20 % behind the library example (packages/bench/README.md,
// "Round 6"). The bundle behaves like the library example. The package's library exports
// (dist/index.js) stay unbundled, sharing the app's `effect`.
//
//   node scripts/build.mjs
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = fileURLToPath(new URL("..", import.meta.url))
execFileSync(`${root}node_modules/.bin/tsc`, ["-b", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })

await build({
  entryPoints: [`${root}packages/cli/dist/main.js`],
  outfile: `${root}packages/cli/dist/bin.js`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  logLevel: "error",
  // ws's optional native helpers: loaded when installed, skipped when not (ws catches it).
  external: ["bufferutil", "utf-8-validate"],
  // The CommonJS dependencies (ws, redis) call require(); an ES module has none.
  banner: {
    js: "import { createRequire as __binCreateRequire } from 'node:module'; const require = __binCreateRequire(import.meta.url);"
  }
})
