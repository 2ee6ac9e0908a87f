/**
 * Slow consumers as an operator sees them: the CLI's app in-process, real v14 clients, a
 * subscriber whose TCP socket stops reading while another client floods its channel. The
 * `SlowConsumer` notices reach the logs (socket id, phase, dropped count) and `/metrics`
 * (scraped over HTTP) counts the publisher holds, the stalled subscribers and every
 * dropped publication or 4010 disconnect.
 */
import { clientTcpSocket } from "@effect-socketcluster/server/testing"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  captureLogs,
  connectClient,
  type LogLine,
  logText,
  parsePrometheus,
  publish,
  type Sample,
  sampleValue,
  startApp,
  subscribe,
  type TestApp
} from "./harness.js"

const flood = 6_000
const body = "x".repeat(4 * 1024 - 32)

/** The fields of a "slow consumer" log line. */
const notice = (line: LogLine) => {
  const extra: unknown = Array.isArray(line.message) ? line.message[1] : undefined
  return { level: line.level, socketId: line.annotations.socketId, ...(extra as { phase: string; dropped: number }) }
}
const isNotice = (phase: string) => (line: LogLine) => logText(line) === "slow consumer" && notice(line).phase === phase

describe("slow consumers in logs and /metrics", () => {
  let logs: ReturnType<typeof captureLogs>
  let app: TestApp | undefined
  beforeEach(() => {
    logs = captureLogs()
  })
  afterEach(async () => {
    await app?.stop()
    app = undefined
    logs.restore()
  })

  const scrape = async (): Promise<ReadonlyArray<Sample>> =>
    parsePrometheus(await (await fetch(`${app?.baseUrl}/metrics`)).text())

  /** A stalled subscriber on "flood" and a client publishing `flood` × 4 KiB to it without waiting. */
  const stallDuringFlood = async (policy: "drop" | "disconnect") => {
    app = await startApp([
      "--log-level",
      "info",
      "--log-format",
      "json",
      "--outbound-high-water-mark",
      String(256 * 1024),
      "--slow-consumer-timeout",
      "300",
      "--slow-consumer-policy",
      policy
    ])
    const before = await scrape()
    const stalled = await connectClient(app.port)
    let received = 0
    ;(await subscribe(stalled, "flood")).watch(() => received++)
    clientTcpSocket(stalled).pause()
    const publisher = await connectClient(app.port)
    const acks = Array.from({ length: flood }, (_, n) => publish(publisher, "flood", { n, body }))
    expect((await Promise.all(acks)).filter((error) => error !== undefined)).toEqual([])
    const stall = await logs.waitFor(isNotice("Stalled"))
    return { before, stalled, publisher, stall, received: () => received }
  }

  it("dropPublications: a Stalled then a CaughtUp notice with the drop count; the counters match", async () => {
    const { before, stalled, publisher, stall, received } = await stallDuringFlood("drop")
    expect(notice(stall)).toEqual({ level: "WARN", socketId: stalled.id, phase: "Stalled", dropped: 0 })
    // While it is stalled: one slow consumer now, the publisher was held back before the stall.
    const during = await scrape()
    const delta = (samples: ReadonlyArray<Sample>, name: string) =>
      sampleValue(samples, name) - sampleValue(before, name)
    expect(sampleValue(during, "socketcluster_slow_consumers")).toBe(1)
    expect(delta(during, "socketcluster_slow_consumers_total")).toBe(1)
    expect(delta(during, "socketcluster_publisher_holds_total")).toBeGreaterThan(0)
    expect(delta(during, "socketcluster_dropped_publications_total")).toBeGreaterThan(0)

    clientTcpSocket(stalled).resume()
    const caughtUp = notice(await logs.waitFor(isNotice("CaughtUp")))
    const dropped = app?.server.counters.droppedPublications ?? -1
    expect(caughtUp).toEqual({ level: "WARN", socketId: stalled.id, phase: "CaughtUp", dropped })
    // What it did not get is exactly what was counted.
    await new Promise<void>((resolve) => {
      const check = () => (received() + dropped >= flood ? resolve() : setImmediate(check))
      check()
    })
    expect(received() + dropped).toBe(flood)
    const after = await scrape()
    expect(sampleValue(after, "socketcluster_slow_consumers")).toBe(0)
    expect(delta(after, "socketcluster_dropped_publications_total")).toBe(dropped)
    expect(delta(after, "socketcluster_slow_consumer_disconnects_total")).toBe(0)
    // Every notice names the stalled socket, never the publisher.
    const notices = logs.lines.filter((line) => logText(line) === "slow consumer").map(notice)
    expect(notices.map((n) => n.socketId)).toEqual([stalled.id, stalled.id])
    expect(notices.some((n) => n.socketId === publisher.id)).toBe(false)
    stalled.destroy()
    publisher.destroy()
  })

  it("disconnect: the stalled subscriber is closed with 4010, logged and counted", async () => {
    const { before, stalled, publisher, stall } = await stallDuringFlood("disconnect")
    expect(notice(stall)).toMatchObject({ socketId: stalled.id, phase: "Stalled" })
    // Reading again, it gets to the close frame behind its buffer and the close completes.
    clientTcpSocket(stalled).resume()
    const closed = notice(await logs.waitFor(isNotice("Closed")))
    expect(closed).toEqual({ level: "WARN", socketId: stalled.id, phase: "Closed", dropped: 0 })
    const after = await scrape()
    const delta = (name: string) => sampleValue(after, name) - sampleValue(before, name)
    expect(delta("socketcluster_slow_consumer_disconnects_total")).toBe(1)
    expect(delta("socketcluster_slow_consumers_total")).toBe(1)
    expect(delta("socketcluster_dropped_publications_total")).toBe(0)
    expect(sampleValue(after, "socketcluster_slow_consumers")).toBe(0)
    stalled.destroy()
    publisher.destroy()
  })
})
