import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  connectClient,
  invoke,
  parsePrometheus,
  publish,
  type Sample,
  sampleValue,
  startApp,
  subscribe,
  type TestApp
} from "./harness.js"

let app: TestApp
beforeEach(async () => {
  app = await startApp()
})
afterEach(() => app.stop())

const scrape = async (): Promise<ReadonlyArray<Sample>> => {
  const res = await fetch(`${app.baseUrl}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheus(await res.text())
}

describe("/metrics", () => {
  it("parses as Prometheus text and lists every metric family", async () => {
    const samples = await scrape()
    for (const name of [
      "socketcluster_connections",
      "socketcluster_pending_handshakes",
      "socketcluster_subscriptions",
      "socketcluster_channels",
      "socketcluster_messages_in_total",
      "socketcluster_bytes_in_total",
      "socketcluster_messages_out_total",
      "socketcluster_bytes_out_total",
      "socketcluster_ack_timeouts_total",
      "socketcluster_handshakes_total",
      "socketcluster_rejected_upgrades_total",
      "socketcluster_slow_consumer_disconnects_total",
      "socketcluster_dropped_publications_total",
      "socketcluster_publisher_holds_total",
      "socketcluster_slow_consumers_total",
      "socketcluster_slow_consumers",
      "socketcluster_connections_total",
      "socketcluster_history_appends_total",
      "socketcluster_history_recoveries_total",
      "socketcluster_history_replayed_total",
      "socketcluster_history_gaps_total"
    ]) {
      expect(
        samples.some((s) => s.name === name),
        name
      ).toBe(true)
    }
  })

  it("counters move when clients connect, publish and fail middleware", async () => {
    const before = await scrape()
    const a = await connectClient(app.port)
    const b = await connectClient(app.port)
    await subscribe(b, "room/metrics")
    const received = new Promise((resolve) => b.subscribe("room/metrics").watch(resolve))
    expect(await publish(a, "room/metrics", { text: "hello" })).toBeUndefined()
    await received
    // Outside the demo's prefixes: passed untouched, and counted all the same.
    expect(await publish(a, "plain/metrics", "as is")).toBeUndefined()
    const rejected = await publish(a, "room/metrics", { text: "   " })
    expect(rejected).toMatchObject({ name: "EmptyMessageError" })
    const subscribeRejected = await subscribe(a, "private/x").then(
      () => undefined,
      (error: unknown) => error
    )
    expect(subscribeRejected).toMatchObject({ name: "PrivateChannelError" })
    await invoke(a, "echo", "ping")
    // A token signed with another key: an auth failure by error name.
    await invoke(a, "login", { username: "alice" })
    const bad = await connectClient(app.port, { authTokenName: "other", authEngine: badTokenEngine })
    const after = await scrape()
    a.destroy()
    b.destroy()
    bad.destroy()

    expect(sampleValue(after, "socketcluster_connections")).toBe(3)
    expect(
      sampleValue(after, "socketcluster_connections_total") - sampleValue(before, "socketcluster_connections_total")
    ).toBe(3)
    expect(sampleValue(after, "socketcluster_subscriptions")).toBeGreaterThanOrEqual(1)
    expect(sampleValue(after, "socketcluster_channels")).toBeGreaterThanOrEqual(1)
    expect(sampleValue(after, "socketcluster_publishes_total", { source: "client" })).toBe(2)
    expect(sampleValue(after, "socketcluster_middleware_rejections_total", { type: "publishIn" })).toBe(1)
    expect(sampleValue(after, "socketcluster_middleware_rejections_total", { type: "subscribe" })).toBe(1)
    expect(sampleValue(after, "socketcluster_auth_failures_total", { error: "AuthTokenInvalidError" })).toBe(1)
    expect(sampleValue(after, "socketcluster_messages_in_total")).toBeGreaterThan(
      sampleValue(before, "socketcluster_messages_in_total")
    )
    expect(sampleValue(after, "socketcluster_bytes_in_total")).toBeGreaterThan(
      sampleValue(before, "socketcluster_bytes_in_total")
    )
    expect(sampleValue(after, "socketcluster_messages_out_total")).toBeGreaterThan(0)
    expect(sampleValue(after, "socketcluster_bytes_out_total")).toBeGreaterThan(0)
    expect(sampleValue(after, "socketcluster_handshake_duration_ms_count")).toBe(3)
    expect(
      sampleValue(after, "socketcluster_handshakes_total") - sampleValue(before, "socketcluster_handshakes_total")
    ).toBe(3)
    expect(sampleValue(after, "socketcluster_rpc_duration_ms_count", { event: "echo" })).toBe(1)
  })
})

describe("/metrics history", () => {
  it("counts appends, recoveries, replayed publications and gaps", async () => {
    const before = await scrape()
    const publisher = await connectClient(app.port)
    for (const n of [1, 2, 3]) expect(await publish(publisher, "room/history", { text: `m${n}` })).toBeUndefined()
    // A subscriber coming back with a position from a stream that no longer exists: 3 replayed, one gap.
    const late = await connectClient(app.port)
    const replayed: Array<unknown> = []
    await new Promise((resolve, reject) => {
      const channel = late.subscribe("room/history", { data: { recover: { offset: 9, epoch: "gone" } } })
      channel.watch((data) => replayed.push(data))
      channel.on("subscribe", resolve)
      channel.on("subscribeFail", reject)
    })
    const after = await scrape()
    publisher.destroy()
    late.destroy()
    // (The demo app's publishIn stamps each message; the texts are the publisher's.)
    expect(replayed.map((data) => (data as { readonly text?: unknown }).text)).toEqual(["m1", "m2", "m3"])
    const delta = (name: string) => sampleValue(after, name) - sampleValue(before, name)
    expect(delta("socketcluster_history_appends_total")).toBe(3)
    expect(delta("socketcluster_history_recoveries_total")).toBe(1)
    expect(delta("socketcluster_history_replayed_total")).toBe(3)
    expect(delta("socketcluster_history_gaps_total")).toBe(1)
  })
})

describe("/metrics ack timeouts", () => {
  it("counts a server emit whose ack never comes", async () => {
    const quick = await startApp(["--ack-timeout", "50"])
    try {
      const client = await connectClient(quick.port)
      const socket = quick.server.clients.get(client.id ?? "")
      expect(socket).toBeDefined()
      // The client has no listener for "ping", so it never answers.
      const error = await new Promise((resolve) => socket?.emitUnsafe("ping", 1, (e) => resolve(e)))
      expect(error).toMatchObject({ name: "TimeoutError" })
      const samples = parsePrometheus(await (await fetch(`${quick.baseUrl}/metrics`)).text())
      expect(sampleValue(samples, "socketcluster_ack_timeouts_total")).toBe(1)
      client.destroy()
    } finally {
      await quick.stop()
    }
  })
})

// A client auth engine that hands the server a token signed with another key.
const foreignToken =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImV2ZSIsImlhdCI6MTcwMDAwMDAwMH0.2m9X0hD8QZf0bXo8mJ8n3fQy3V1Zt3cJq7a2mWcW2xI"
const badTokenEngine = {
  saveToken: (_name: string, token: string, _options: unknown, callback: (e: unknown, t: string) => void) =>
    callback(null, token),
  removeToken: (_name: string, callback: (e: unknown, t: string | null) => void) => callback(null, null),
  loadToken: (_name: string, callback: (e: unknown, t: string) => void) => callback(null, foreignToken)
}
