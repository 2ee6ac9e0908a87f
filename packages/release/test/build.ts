/** vitest globalSetup: one incremental build of every package before the files run. */
import { execFileSync } from "node:child_process"
import { repoRoot } from "./child.js"

export default function setup(): void {
  execFileSync("node_modules/.bin/tsc", ["-b", "tsconfig.build.json"], { cwd: repoRoot, stdio: "inherit" })
}
