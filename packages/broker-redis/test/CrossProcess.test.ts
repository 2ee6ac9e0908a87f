/**
 * Two server processes (examples/start-redis.ts) on different ports sharing one Redis:
 * a v14 client on A publishes, clients on B receive everything in order, and a
 * subscriber on A (the publisher's own process) gets each publication exactly once.
 */
import { describe, expect, it } from "vitest"
import { useRedisServer } from "../src/testing/RedisServer.js"
import { Inbox, publish, subscribe, twoServersOnRedis } from "./clients.js"

const count = 1_000

describe("two server processes sharing Redis", () => {
  const { servers, client } = twoServersOnRedis(useRedisServer)

  it(`delivers ${count} publications from a client on A to every client on B, in order`, async () => {
    const [a, b] = servers()
    expect(a.port).not.toBe(b.port)
    const channel = `feed-${Date.now()}`
    const remote = [new Inbox(), new Inbox(), new Inbox()]
    for (const inbox of remote) await subscribe(await client(b), channel, inbox)
    const local = new Inbox()
    const publisher = await client(a)
    await subscribe(publisher, channel, local)

    const acks = await Promise.all(
      Array.from({ length: count }, (_, n) => publish(publisher, channel, { n, text: "ü✓" }))
    )
    expect(acks.filter((error) => error !== undefined)).toEqual([])

    const expected = Array.from({ length: count }, (_, n) => ({ n, text: "ü✓" }))
    for (const inbox of remote) {
      await inbox.atLeast(count)
      expect(inbox.items).toEqual(expected)
    }
    // Exactly once on the publisher's own process: nothing extra arrives before a marker published after.
    expect(await publish(publisher, channel, "end")).toBeUndefined()
    await local.until((item) => item === "end")
    expect(local.items).toEqual([...expected, "end"])
  })
})
