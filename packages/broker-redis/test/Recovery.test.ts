/**
 * No acknowledged publication lost across a redis-server restart (no persistence: the
 * restarted Redis is empty). Two server processes (examples/start-redis.ts) share one
 * Redis; subscribers are on B, the publisher on A.
 */
import { describe, expect, it } from "vitest"
import { spawnRedisServer } from "../src/testing/RedisServer.js"
import {
  type ClientSocket,
  Inbox,
  publications,
  publish,
  subscribe,
  subscribeWith,
  twoServersOnRedis
} from "./clients.js"

/** Publishes until the server acknowledges; returns the errors of the attempts that failed. */
const publishUntilAcked = async (
  client: ClientSocket,
  channel: string,
  data: unknown,
  onFailure: (error: unknown) => void = () => {}
): Promise<Array<unknown>> => {
  const failures: Array<unknown> = []
  for (;;) {
    const error = await publish(client, channel, data)
    if (error === undefined) return failures
    failures.push(error)
    onFailure(error)
  }
}

describe("recovery across a redis-server restart and across client reconnections", () => {
  const { redis: redisServer, servers, client } = twoServersOnRedis(spawnRedisServer)

  it("restart between subscription and publication: 20 subscribers on B get all 500 publications from A, in order, once", async () => {
    const [a, b] = servers()
    const channel = `restart-${Date.now()}`
    const inboxes = Array.from({ length: 20 }, () => new Inbox())
    for (const inbox of inboxes) await subscribe(await client(b), channel, inbox)
    const publisher = await client(a)

    await redisServer().restart()
    const count = 500
    let failures = 0
    for (let n = 0; n < count; n++) failures += (await publishUntilAcked(publisher, channel, { n })).length
    expect(await publish(publisher, channel, "end")).toBeUndefined()

    const expected = [...Array.from({ length: count }, (_, n) => ({ n })), "end"]
    for (const inbox of inboxes) {
      await inbox.until((item) => item === "end")
      expect(inbox.items).toEqual(expected)
    }
    // Failures are allowed only while A was reconnecting; each was reported on the ack.
    expect(failures).toBeLessThan(count)
    // B caught its channels up from history once Redis was back.
    const recovered = await b.line((line) => line.includes('"Recovered"'))
    expect(JSON.parse(recovered.slice("notice ".length))).toMatchObject({ _tag: "Recovered" })
  })

  it("restart mid-stream, publisher retrying: nothing acknowledged lost, failures reported, epoch notice emitted", async () => {
    const [a, b] = servers()
    const channel = `midstream-${Date.now()}`
    const inboxes = Array.from({ length: 5 }, () => new Inbox())
    for (const inbox of inboxes) await subscribe(await client(b), channel, inbox)
    const publisher = await client(a)
    const total = 400
    const failed = new Map<number, Array<unknown>>()
    let acked = 0
    let onAck: (() => void) | undefined
    let onFirstFailure: () => void = () => {}
    const firstFailure = new Promise<void>((resolve) => {
      onFirstFailure = resolve
    })
    const stream = (async () => {
      for (let n = 0; n < total; n++) {
        const failures = await publishUntilAcked(publisher, channel, n, () => onFirstFailure())
        if (failures.length > 0) failed.set(n, failures)
        acked = n + 1
        onAck?.()
      }
    })()
    const ackedAtLeast = (k: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (acked >= k) {
            onAck = undefined
            resolve()
          }
        }
        onAck = check
        check()
      })

    await ackedAtLeast(100)
    await redisServer().stop()
    const before = acked
    // The publisher keeps trying while Redis is down: its attempts fail.
    await firstFailure
    await redisServer().restart()
    await stream
    expect(before).toBeLessThan(total)

    // Failures were reported to the publisher as BrokerErrors.
    const failures = [...failed.values()].flat()
    expect(failures.length).toBeGreaterThan(0)
    for (const error of failures) expect((error as Error).name).toBe("BrokerError")

    expect(await publish(publisher, channel, "end")).toBeUndefined()
    const expected = Array.from({ length: total }, (_, n) => n)
    for (const inbox of inboxes) {
      await inbox.until((item) => item === "end")
      const received = inbox.items.slice(0, -1) as Array<number>
      // Every acknowledged publication arrived, in order of first arrival.
      expect([...new Set(received)]).toEqual(expected)
      // A repeat is possible only for a publication whose failed attempt reached Redis before it died.
      const seen = new Set<number>()
      for (const n of received) {
        if (seen.has(n)) expect(failed.has(n)).toBe(true)
        seen.add(n)
      }
    }

    // B noticed that Redis lost the channel's stream (new epoch) and said so.
    const notice = await b.line((line) => line.includes('"HistoryGap"') && line.includes(channel))
    expect(JSON.parse(notice.slice("notice ".length))).toMatchObject({
      _tag: "HistoryGap",
      channel,
      reason: "EpochChanged"
    })
  })

  it("a subscriber that reconnects with its last offset gets exactly what it missed, in order, then live — on the same or the other server", async () => {
    const [a, b] = servers()
    const publisher = await client(a)
    for (const target of [a, b]) {
      const channel = `resume-${target.port}-${Date.now()}`
      // First life: on A, asking for offsets.
      const first = await client(a)
      const firstFrames = publications(first, channel)
      const firstInbox = new Inbox()
      const firstAck = await subscribeWith(first, channel, { recover: true }, firstInbox)
      expect(firstAck).toMatchObject({ offset: 0, epoch: "", replayed: 0 })
      for (let n = 1; n <= 10; n++) expect(await publish(publisher, channel, { n })).toBeUndefined()
      await firstInbox.atLeast(10)
      const last = firstFrames[firstFrames.length - 1]!
      expect(firstFrames.map((f) => f.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      first.destroy()

      // Missed while away.
      for (let n = 11; n <= 20; n++) expect(await publish(publisher, channel, { n })).toBeUndefined()

      const second = await client(target)
      const secondFrames = publications(second, channel)
      const inbox = new Inbox()
      const ack = await subscribeWith(second, channel, { recover: { offset: last.offset, epoch: last.epoch } }, inbox)
      expect(ack).toEqual({ offset: 20, epoch: last.epoch, replayed: 10 })
      for (let n = 21; n <= 25; n++) expect(await publish(publisher, channel, { n })).toBeUndefined()
      await inbox.atLeast(15)
      expect(await publish(publisher, channel, "end")).toBeUndefined()
      await inbox.until((item) => item === "end")
      expect(inbox.items).toEqual([...Array.from({ length: 15 }, (_, i) => ({ n: i + 11 })), "end"])
      expect(secondFrames.slice(0, 15).map((f) => f.offset)).toEqual(Array.from({ length: 15 }, (_, i) => i + 11))
      second.destroy()
    }
  })

  it("says when it cannot: a position from a lost stream gets the gap reason", async () => {
    const [a] = servers()
    const publisher = await client(a)
    const channel = `gap-${Date.now()}`
    for (let n = 1; n <= 3; n++) expect(await publish(publisher, channel, n)).toBeUndefined()
    const subscriber = await client(a)
    const inbox = new Inbox()
    const ack = await subscribeWith(subscriber, channel, { recover: { offset: 7, epoch: "an-old-epoch" } }, inbox)
    expect(ack).toMatchObject({ offset: 3, replayed: 3, gap: "EpochChanged" })
    await inbox.atLeast(3)
    expect(inbox.items).toEqual([1, 2, 3])
  })
})
