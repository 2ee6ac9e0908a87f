import { Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { rpcTimingSample, ServerMetrics } from "../src/ServerMetrics.js"
import { connectClient, parsePrometheus, sampleValue, startApp, type TestApp } from "./harness.js"

// A real server socket for the wrappers to pass on (they never read it). Each test makes
// its own metrics and its own socket, so one app serves the file.
let app: TestApp
beforeAll(async () => {
  app = await startApp()
})
afterAll(() => app.stop())

const serverSocket = async () => {
  const client = await connectClient(app.port)
  const socket = app.server.clients.get(client.id ?? "")
  if (socket === undefined) throw new Error("no server socket for the client")
  return socket
}

/** A subscribe request from a real server socket, for the middleware wrappers. */
const subscribeRequest = async () => ({
  socket: await serverSocket(),
  channel: "room/a",
  waitForAuth: false,
  data: undefined,
  authTokenExpiredError: undefined
})

const value = (metrics: ServerMetrics, name: string, labels: Record<string, string>) =>
  sampleValue(parsePrometheus(metrics.render()), name, labels)

describe("ServerMetrics wrappers keep finished results finished (no fiber needed)", () => {
  it("countRejections returns a middleware's Exit itself and counts a failed one at once", async () => {
    const req = await subscribeRequest()
    const metrics = new ServerMetrics()
    const failure = Exit.fail("no")
    const allow = metrics.countRejections("subscribe", () => Effect.void)
    const deny = metrics.countRejections("subscribe", () => failure)
    expect(Exit.isExit(allow(req))).toBe(true)
    expect(deny(req)).toBe(failure)
    deny(req)
    expect(value(metrics, "socketcluster_middleware_rejections_total", { type: "subscribe" })).toBe(2)
  })

  it("countRejections still counts the failure of an asynchronous middleware", async () => {
    const req = await subscribeRequest()
    const metrics = new ServerMetrics()
    const deny = metrics.countRejections("subscribe", () => Effect.fail("later").pipe(Effect.delay("1 millis")))
    const result = deny(req)
    expect(Exit.isExit(result)).toBe(false)
    expect(Exit.isFailure(await Effect.runPromiseExit(result))).toBe(true)
    expect(value(metrics, "socketcluster_middleware_rejections_total", { type: "subscribe" })).toBe(1)
  })

  it("timeRpc returns a handler's Exit itself and times both kinds of handler", async () => {
    const socket = await serverSocket()
    const metrics = new ServerMetrics()
    const echo = metrics.timeRpc("echo", (data) => Effect.succeed(data))
    const result = echo("hi", socket)
    expect(Exit.isExit(result)).toBe(true)
    expect(await Effect.runPromise(result)).toBe("hi")
    const slow = metrics.timeRpc("slow", (data) => Effect.succeed(data).pipe(Effect.delay("1 millis")))
    const pending = slow("x", socket)
    expect(Exit.isExit(pending)).toBe(false)
    expect(await Effect.runPromise(pending)).toBe("x")
    expect(value(metrics, "socketcluster_rpc_duration_ms_count", { event: "echo" })).toBe(1)
    expect(value(metrics, "socketcluster_rpc_duration_ms_count", { event: "slow" })).toBe(1)
  })

  it("timeRpc times an answer-at-once handler 1 request in rpcTimingSample and counts every request", async () => {
    const socket = await serverSocket()
    const metrics = new ServerMetrics()
    // Busy for at least `ms` (real work, so the timing is real), on chosen calls only.
    const busy = (ms: number) => {
      const end = performance.now() + ms
      let spins = 0
      while (performance.now() < end) spins++
      return spins
    }
    let calls = 0
    const handler = metrics.timeRpc("work", (data) => {
      calls++
      if (calls === 1) busy(3)
      if (calls === rpcTimingSample + 1) busy(30)
      return Effect.succeed(data)
    })
    const bucket = (le: string) => value(metrics, "socketcluster_rpc_duration_ms_bucket", { event: "work", le })
    for (let i = 0; i < rpcTimingSample; i++) expect(Exit.isExit(handler(i, socket))).toBe(true)
    // Only the first was timed (>= 3 ms); the quick ones after it count as it did.
    expect(value(metrics, "socketcluster_rpc_duration_ms_count", { event: "work" })).toBe(rpcTimingSample)
    expect(bucket("2.5")).toBe(0)
    expect(value(metrics, "socketcluster_rpc_duration_ms_sum", { event: "work" })).toBeGreaterThanOrEqual(
      3 * rpcTimingSample
    )
    // The next one is timed again: its 30 ms show.
    handler("again", socket)
    expect(value(metrics, "socketcluster_rpc_duration_ms_count", { event: "work" })).toBe(rpcTimingSample + 1)
    expect(bucket("+Inf") - bucket("25")).toBeGreaterThanOrEqual(1)
  })
})
