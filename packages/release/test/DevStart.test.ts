/**
 * `./dev start` and `pnpm smoke-server` as a user runs them: one signal to the process the
 * user started drains the server and exits 0; the port is released and none of the
 * processes it started remain.
 */
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type Child, cliPort, portIsFree, processTree, repoRoot, start, stop, survivors, userEnv } from "./child.js"

let child: Child | undefined
afterEach(() => stop(child))

const signalStops = async (launched: Child, signal: NodeJS.Signals) => {
  const port = await cliPort(launched)
  const tree = processTree(launched.pid)
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
  launched.proc.kill(signal)
  expect(await launched.exited).toEqual({ code: 0, signal: null })
  expect(launched.output()).toMatch(/draining: 0 sockets open/)
  expect(await portIsFree(port)).toBe(true)
  expect(survivors(tree)).toEqual([])
  return tree
}

describe("starting the server from the repository", () => {
  it("./dev start is node itself (no wrapper); SIGTERM releases the port and leaves no process", async () => {
    child = start(join(repoRoot, "dev"), ["start", "--host", "127.0.0.1"], {
      cwd: repoRoot,
      env: userEnv({ PORT: "0" })
    })
    const tree = await signalStops(child, "SIGTERM")
    expect(tree.map((p) => p.commandLine)).toEqual([
      expect.stringMatching(/^\S*node packages\/cli\/dist\/bin\.js --host 127\.0\.0\.1$/)
    ])
  })

  it("pnpm smoke-server: SIGINT to pnpm reaches the server, which drains; pnpm exits 0 and nothing remains", async () => {
    child = start("pnpm", ["run", "--silent", "smoke-server", "--host", "127.0.0.1"], {
      cwd: repoRoot,
      env: userEnv({ PORT: "0" })
    })
    const tree = await signalStops(child, "SIGINT")
    expect(tree.map((p) => p.commandLine)).toContainEqual(
      expect.stringMatching(/^\S*node packages\/cli\/dist\/bin\.js --smoke --host 127\.0\.0\.1$/)
    )
  })
})
