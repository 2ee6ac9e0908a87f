/**
 * The real CLI as a child process: SIGTERM drains (health 503, new sockets refused), then
 * open sockets close with 1001 and the process exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { type ClientSocket, connectClient } from "./harness.js"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const mainPath = fileURLToPath(new URL("../src/main.ts", import.meta.url))

let child: ChildProcess | undefined
afterEach(() => {
  if (child?.exitCode === null) child.kill("SIGKILL")
})

// The parent's settings must not leak into the child.
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  for (const name of ["PORT", "HOST", "AUTH_KEY", "BROKER_URL", "WORKERS", "SMOKE", "LOG_LEVEL", "LOG_FORMAT"]) {
    delete env[name]
  }
  return env
}

/** Starts the CLI; resolves with the process, a waiter for stdout text and the bound port. */
const startCli = async (argv: ReadonlyArray<string>) => {
  // Signals go to node itself, not to a tsx/pnpm wrapper that could mask the exit code.
  const proc = spawn(process.execPath, ["--import", "tsx", mainPath, ...argv], {
    cwd: repoRoot,
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"]
  })
  child = proc
  let output = ""
  const waiters: Array<() => void> = []
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const waiter of waiters.splice(0)) waiter()
  }
  proc.stdout?.on("data", onData)
  proc.stderr?.on("data", onData)
  const waitFor = (pattern: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output)
        if (match !== null) return resolve(match)
        if (proc.exitCode !== null) return reject(new Error(`exited ${proc.exitCode} before ${pattern}:\n${output}`))
        waiters.push(check)
      }
      proc.once("exit", check)
      check()
    })
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)))
  const port = Number((await waitFor(/listening on http:\/\/[^:]+:(\d+)\//))[1])
  return { proc, waitFor, exited, port, output: () => output }
}

const closeCode = (client: ClientSocket): Promise<number> =>
  new Promise((resolve) => client.once("close", (code) => resolve(Number(code))))

describe("the CLI process", () => {
  it("SIGTERM: /health says draining, then clients get 1001 and the exit code is 0", async () => {
    const cli = await startCli(["--port", "0", "--host", "127.0.0.1", "--drain-period", "400", "--log-format", "json"])
    const a = await connectClient(cli.port)
    const b = await connectClient(cli.port)
    const codes = Promise.all([closeCode(a), closeCode(b)])

    cli.proc.kill("SIGTERM")
    await cli.waitFor(/draining: 2 sockets open/)
    const health = await fetch(`http://127.0.0.1:${cli.port}/health`)
    expect(health.status).toBe(503)
    expect(await health.text()).toBe("draining\n")
    // No new sockets while draining.
    await expect(connectClient(cli.port)).rejects.toThrow()

    expect(await codes).toEqual([1001, 1001])
    expect(await cli.exited).toBe(0)
    // JSON logs, one object per line.
    const lines = cli
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow()
  })

  it("a bad setting prints one line naming it and exits 1", async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", mainPath, "--ping-timeout", "soon"], {
      cwd: repoRoot,
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    child = proc
    let stderr = ""
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve))
    expect(code).toBe(1)
    expect(stderr).toBe(
      'Invalid --ping-timeout (PING_TIMEOUT): expected milliseconds, an integer greater than the ping interval, got "soon"\n'
    )
  })
})
