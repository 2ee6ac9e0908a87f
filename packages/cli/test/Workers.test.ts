/**
 * `--workers N`: processes sharing one port over a real redis-server; publications reach
 * clients on every worker, a killed worker is restarted, SIGTERM drains them all.
 */
import { DataStoreMemory } from "@effect-socketcluster/server"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { type CliProcess, cleanEnv, listeningPort, type RedisServer, spawnCli, useRedis } from "./cliProcess.js"
import { type ClientSocket, connectClient, invoke, publish, subscribe } from "./harness.js"

let redis: RedisServer
let cli: CliProcess | undefined
beforeAll(async () => {
  redis = await useRedis()
})
afterAll(() => redis?.stop())
afterEach(() => {
  if (cli?.proc.exitCode === null) cli.proc.kill("SIGKILL")
})

const workerOf = async (client: ClientSocket): Promise<string> => {
  const stats = (await invoke(client, "stats")) as { readonly worker: string | null }
  return String(stats.worker)
}

describe("--workers", () => {
  it("with the memory broker, more than one worker is refused", async () => {
    cli = spawnCli(["--workers", "2"])
    expect(await cli.exited).toBe(1)
    expect(cli.output()).toMatch(/^Invalid --workers \(WORKERS\): 2 workers need a Redis broker .*\n$/)
  })

  it("clients spread over the workers all receive every publication; a killed worker restarts; SIGTERM drains all", {
    timeout: 60_000
  }, async () => {
    cli = spawnCli(
      ["--workers", "2", "--port", "0", "--host", "127.0.0.1", "--drain-period", "200"],
      cleanEnv({ BROKER_URL: redis.url })
    )
    await cli.waitFor(/worker 1 \(pid \d+\) listening/)
    await cli.waitFor(/worker 2 \(pid \d+\) listening/)
    const port = await listeningPort(cli)
    // The exchange's data is in Redis too, not split per worker (each would warn).
    expect(cli.output()).not.toContain(DataStoreMemory.defaultDataStoreWarning)

    const clients = await Promise.all(Array.from({ length: 6 }, () => connectClient(port)))
    const workers = await Promise.all(clients.map(workerOf))
    expect(new Set(workers)).toEqual(new Set(["1", "2"]))

    await Promise.all(clients.map((c) => subscribe(c, "room/all")))
    const texts = ["one", "two", "three"]
    const received = clients.map(
      (c) =>
        new Promise<Array<string>>((resolve) => {
          const got: Array<string> = []
          c.subscribe("room/all").watch((data) => {
            got.push((data as { readonly text: string }).text)
            if (got.length === texts.length) resolve(got)
          })
        })
    )
    for (const text of texts) expect(await publish(clients[0]!, "room/all", { text })).toBeUndefined()
    for (const got of await Promise.all(received)) expect(got).toEqual(texts)

    // A worker crash is logged and the worker comes back.
    const pid = (await cli.waitFor(/worker 2 \(pid (\d+)\) listening/))[1]
    const before = cli.output().length
    process.kill(Number(pid), "SIGKILL")
    await cli.waitFor(new RegExp(`worker 2 \\(pid ${pid}\\) died \\(SIGKILL\\); restarting`), before)
    await cli.waitFor(/worker 2 \(pid \d+\) listening/, before)
    // Clients of the dead worker lost their socket (1006); the others still work.
    const survivors = clients.filter((_, i) => workers[i] === "1")
    const codes = Promise.all(
      survivors.map((c) => new Promise<number>((resolve) => c.once("close", (code) => resolve(Number(code)))))
    )
    cli.proc.kill("SIGTERM")
    expect(await codes).toEqual(survivors.map(() => 1001))
    expect(await cli.exited).toBe(0)
  })
})
