/**
 * Faults with real processes under steady load: the CLI with `--workers 2` on a private
 * redis-server. A worker killed with SIGKILL: the other keeps serving (its echo latency
 * measured through the whole episode), the primary restarts the dead one, and the dead
 * one's clients reconnect and resubscribe. redis-server restarted: no process crashes,
 * publishers get BrokerError acks during the outage, delivery resumes on both workers.
 * One redis-server and one CLI serve both tests.
 */
import { type RedisServer, spawnRedisServer } from "@effect-socketcluster/broker-redis/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CliProcess, cleanEnv, listeningPort, spawnCli } from "./cliProcess.js"
import { type ClientChannel, type ClientSocket, connectClient, invoke, publish, subscribe } from "./harness.js"

let redis: RedisServer
let cli: CliProcess
let port: number
const clients: Array<ClientSocket> = []

beforeAll(async () => {
  redis = await spawnRedisServer()
  cli = spawnCli(
    ["--workers", "2", "--port", "0", "--host", "127.0.0.1", "--drain-period", "200"],
    cleanEnv({ BROKER_URL: redis.url })
  )
  await cli.waitFor(/worker 1 \(pid \d+\) listening/)
  await cli.waitFor(/worker 2 \(pid \d+\) listening/)
  port = await listeningPort(cli)
}, 30_000)
afterAll(async () => {
  for (const client of clients) client.destroy()
  if (cli !== undefined && cli.proc.exitCode === null) {
    cli.proc.kill("SIGTERM")
    await cli.exited
  }
  await redis?.stop()
})

// Reconnects fast after an abnormal close (v14's default waits 10-20 s).
const reconnecting = { autoReconnect: true, autoReconnectOptions: { initialDelay: 50, randomness: 50, maxDelay: 500 } }

const client = async (options: Record<string, unknown> = {}) => {
  const c = await connectClient(port, options)
  clients.push(c)
  return c
}
const workerOf = async (c: ClientSocket): Promise<string> =>
  String(((await invoke(c, "stats")) as { readonly worker: string | null }).worker)

/** `count` clients on each of workers "1" and "2" (node:cluster hands connections out in turn). */
const clientsOnBothWorkers = async (count: number, options: Record<string, unknown> = {}) => {
  const by = new Map<string, Array<ClientSocket>>([
    ["1", []],
    ["2", []]
  ])
  for (let attempts = 0; attempts < 40 && [...by.values()].some((list) => list.length < count); attempts++) {
    const c = await client(options)
    const list = by.get(await workerOf(c))!
    if (list.length < count) list.push(c)
    else c.destroy()
  }
  expect([by.get("1")!.length, by.get("2")!.length]).toEqual([count, count])
  return { one: by.get("1")!, two: by.get("2")! }
}

/** Publications in arrival order, with a way to wait for one. */
const collect = (channel: ClientChannel) => {
  const items: Array<number> = []
  const waiters: Array<() => void> = []
  channel.watch((data) => {
    items.push(data as number)
    for (const wake of waiters.splice(0)) wake()
  })
  const until = (predicate: (n: number) => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = () => (items.some(predicate) ? resolve() : waiters.push(check))
      check()
    })
  return { items, until }
}

/** Publishes 0, 1, 2, ... on `channel`, each after the previous ack, until stopped. */
const publishStream = (publisher: ClientSocket, channel: string) => {
  const acks: Array<{ readonly n: number; readonly error: unknown }> = []
  const waiters: Array<() => void> = []
  let running = true
  const done = (async () => {
    for (let n = 0; running; n++) {
      acks.push({ n, error: await publish(publisher, channel, n) })
      for (const wake of waiters.splice(0)) wake()
    }
  })()
  const ackWhere = (predicate: (ack: { readonly n: number; readonly error: unknown }) => boolean) =>
    new Promise<{ readonly n: number; readonly error: unknown }>((resolve) => {
      const check = () => {
        const found = acks.find(predicate)
        if (found === undefined) waiters.push(check)
        else resolve(found)
      }
      check()
    })
  const stop = async () => {
    running = false
    await done
  }
  return { acks, ackWhere, stop }
}

/** `echo` calls back to back (5 ms apart) with their latencies, until stopped. */
const echoLoop = (c: ClientSocket) => {
  const latencies: Array<number> = []
  const failures: Array<unknown> = []
  let running = true
  const done = (async () => {
    for (let n = 0; running; n++) {
      const started = performance.now()
      try {
        expect(await invoke(c, "echo", { n })).toEqual({ n })
        latencies.push(performance.now() - started)
      } catch (error) {
        failures.push(error)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  return {
    latencies,
    failures,
    stop: async () => {
      running = false
      await done
    }
  }
}

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

describe("--workers 2 on Redis under load", () => {
  it("SIGKILL of one worker: the other keeps serving, the primary restarts it, its clients reconnect and resubscribe", {
    timeout: 60_000
  }, async () => {
    const { one, two } = await clientsOnBothWorkers(3, reconnecting)
    const [publisher, echoer, survivor] = one as [ClientSocket, ClientSocket, ClientSocket]
    const survivorFeed = collect(await subscribe(survivor, "load"))
    const victims = two.map((c) => {
      let connects = 0
      let subscribes = 0
      const wakers: Array<() => void> = []
      c.on("connect", () => {
        connects++
        for (const wake of wakers.splice(0)) wake()
      })
      const channel = c.subscribe("load")
      channel.on("subscribe", () => {
        subscribes++
        for (const wake of wakers.splice(0)) wake()
      })
      const feed = collect(channel)
      // `connect` counts reconnections only (the first one happened before the listener).
      const subscribedAfter = (reconnects: number, times: number): Promise<void> =>
        new Promise((resolve) => {
          const check = () => (connects >= reconnects && subscribes >= times ? resolve() : wakers.push(check))
          check()
        })
      return { c, feed, subscribedAfter, subscribed: () => subscribes }
    })
    await Promise.all(victims.map((v) => v.subscribedAfter(0, 1)))

    const stream = publishStream(publisher, "load")
    // Everyone is receiving the stream before the kill.
    await survivorFeed.until((n) => n >= 20)
    for (const v of victims) await v.feed.until((n) => n >= 20)
    expect(victims.map((v) => v.subscribed())).toEqual([1, 1, 1])

    const echo = echoLoop(echoer)
    const pid = (await cli.waitFor(/worker 2 \(pid (\d+)\) listening/))[1]
    const before = cli.output().length
    process.kill(Number(pid), "SIGKILL")
    await cli.waitFor(new RegExp(`worker 2 \\(pid ${pid}\\) died \\(SIGKILL\\); restarting`), before)
    const restarted = (await cli.waitFor(/worker 2 \(pid (\d+)\) listening/, before))[1]
    expect(restarted).not.toBe(pid)
    // The dead worker's clients are back, subscribed again, and get what is published now.
    await Promise.all(victims.map((v) => v.subscribedAfter(1, 2)))
    const mark = stream.acks.length
    const after = await stream.ackWhere((ack) => ack.error === undefined && ack.n >= mark)
    for (const v of victims) await v.feed.until((n) => n >= after.n)
    await echo.stop()
    await stream.stop()

    expect(victims.map((v) => v.c.state)).toEqual(["open", "open", "open"])
    // The survivor's worker never missed a beat: every echo answered, every publication
    // acknowledged and delivered to its subscriber once, in order.
    expect(echo.failures).toEqual([])
    expect(echo.latencies.length).toBeGreaterThanOrEqual(20)
    expect(quantile(echo.latencies, 0.99)).toBeLessThan(100)
    expect(stream.acks.filter((ack) => ack.error !== undefined)).toEqual([])
    await survivorFeed.until((n) => n === stream.acks.length - 1)
    expect(survivorFeed.items).toEqual(stream.acks.map((ack) => ack.n))
  })

  it("redis-server restarted: no process crashes, publishes fail with BrokerError during the outage, delivery resumes", {
    timeout: 60_000
  }, async () => {
    const { one, two } = await clientsOnBothWorkers(2)
    const [publisher, subscriberOne] = one as [ClientSocket, ClientSocket]
    const [echoer, subscriberTwo] = two as [ClientSocket, ClientSocket]
    const feeds = [collect(await subscribe(subscriberOne, "outage")), collect(await subscribe(subscriberTwo, "outage"))]
    const before = cli.output().length
    const stream = publishStream(publisher, "outage")
    for (const feed of feeds) await feed.until((n) => n >= 20)

    await redis.stop()
    const firstFailure = await stream.ackWhere((ack) => ack.error !== undefined)
    // RPC does not need the broker: both workers keep answering during the outage.
    expect(await invoke(echoer, "echo", "during")).toBe("during")
    expect(await invoke(publisher, "echo", "during")).toBe("during")
    await redis.restart()
    const resumed = await stream.ackWhere((ack) => ack.n > firstFailure.n && ack.error === undefined)
    for (const feed of feeds) await feed.until((n) => n >= resumed.n)
    await stream.stop()

    const failures = stream.acks.filter((ack) => ack.error !== undefined)
    expect(failures.length).toBeGreaterThan(0)
    for (const { error } of failures) {
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).name).toBe("BrokerError")
    }
    // At most once, in order, on both workers; only failed publications may be missing.
    const failed = new Set(failures.map((ack) => ack.n))
    for (const feed of feeds) {
      for (let i = 1; i < feed.items.length; i++) expect(feed.items[i]!).toBeGreaterThan(feed.items[i - 1]!)
      const last = feed.items[feed.items.length - 1]!
      const missing = stream.acks.filter((ack) => ack.n <= last && !failed.has(ack.n) && !feed.items.includes(ack.n))
      expect(missing).toEqual([])
    }
    // No process died or restarted: the primary and both workers are the same processes.
    expect(cli.proc.exitCode).toBeNull()
    expect(cli.output().slice(before)).not.toMatch(/died|listening/)
    for (const c of [publisher, subscriberOne, echoer, subscriberTwo]) expect(c.state).toBe("open")
    expect(await Promise.all([workerOf(publisher), workerOf(echoer)])).toEqual(["1", "2"])
  })
})
