/**
 * Two server processes (examples/start-redis.ts) on different ports sharing one Redis:
 * a v14 client on A publishes, clients on B receive everything in order, and a
 * subscriber on A (the publisher's own process) gets each publication exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RedisServer, useRedisServer } from "../src/testing/RedisServer.js"
import { type ClientSocket, connect, Inbox, publish, type ServerProcess, spawnServer, subscribe } from "./clients.js"

const count = 1_000

describe("two server processes sharing Redis", () => {
  let redis: RedisServer
  let servers: Array<ServerProcess> = []
  const clients: Array<ClientSocket> = []

  beforeAll(async () => {
    redis = await useRedisServer()
    servers = await Promise.all([spawnServer(redis.url), spawnServer(redis.url)])
  })
  afterAll(async () => {
    for (const client of clients) client.destroy()
    await Promise.all(servers.map((server) => server.stop()))
    await redis?.stop()
  })

  const client = async (server: ServerProcess) => {
    const c = await connect(server.port)
    clients.push(c)
    return c
  }

  it(`delivers ${count} publications from a client on A to every client on B, in order`, async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess]
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
