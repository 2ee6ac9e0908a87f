/** vitest globalSetup: one build of every package (incremental) and of the CLI bin before the files run. */
import { execFileSync } from "node:child_process"
import { repoRoot } from "./child.js"

export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: repoRoot, stdio: "inherit" })
}
