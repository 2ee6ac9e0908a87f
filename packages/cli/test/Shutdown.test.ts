/**
 * The real CLI as a child process: SIGTERM drains (health 503, new sockets refused), then
 * open sockets close with 1001 and the process exits 0.
 */
import { afterEach, describe, expect, it } from "vitest"
import { type CliProcess, listeningPort, spawnCli } from "./cliProcess.js"
import { type ClientSocket, connectClient } from "./harness.js"

let cli: CliProcess | undefined
afterEach(() => {
  if (cli?.proc.exitCode === null) cli.proc.kill("SIGKILL")
})

const closeCode = (client: ClientSocket): Promise<number> =>
  new Promise((resolve) => client.once("close", (code) => resolve(Number(code))))

describe("the CLI process", () => {
  it("SIGTERM: /health says draining, then clients get 1001 and the exit code is 0", async () => {
    cli = spawnCli(["--port", "0", "--host", "127.0.0.1", "--drain-period", "400", "--log-format", "json"])
    const port = await listeningPort(cli)
    const a = await connectClient(port)
    const b = await connectClient(port)
    const codes = Promise.all([closeCode(a), closeCode(b)])

    cli.proc.kill("SIGTERM")
    await cli.waitFor(/draining: 2 sockets open/)
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    expect(health.status).toBe(503)
    expect(await health.text()).toBe("draining\n")
    // No new sockets while draining.
    await expect(connectClient(port)).rejects.toThrow()

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
    cli = spawnCli(["--ping-timeout", "soon"])
    expect(await cli.exited).toBe(1)
    expect(cli.output()).toBe(
      'Invalid --ping-timeout (PING_TIMEOUT): expected milliseconds, an integer greater than the ping interval, got "soon"\n'
    )
  })
})
