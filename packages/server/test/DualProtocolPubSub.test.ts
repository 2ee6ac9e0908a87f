/**
 * Pub/sub across protocols (spec protocol-v2.md V2-19..V2-24, V2-44): the five real
 * clients subscribed to the same channels on one "auto" server; publications from v1
 * reach v2 subscribers and back.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startServer } from "./helpers.js"
import { type AnyClient, connectAll, until } from "./protocolClients.js"

const pingOptions = { pingInterval: 500, pingTimeout: 1500 } as const

const subscribeAll = (clients: ReadonlyArray<AnyClient>, channel: string) =>
  Effect.promise(async () => {
    const inboxes = new Map<AnyClient, Array<unknown>>()
    await Promise.all(
      clients.map((client) => {
        const inbox: Array<unknown> = []
        inboxes.set(client, inbox)
        return client.subscribe(channel, (data) => inbox.push(data))
      })
    )
    return inboxes
  })

describe("dual protocol: pub/sub", () => {
  it.live("V2-19, V2-21, V2-22: publications from v1 and v2 clients and the server reach all five once, in order", () =>
    Effect.gen(function* () {
      const server = yield* startServer(pingOptions)
      const clients = (yield* connectAll(server.sourcePort!)).map(({ client }) => client)
      const byName = (name: string) => clients.find((c) => c.name === name)!
      const inboxes = yield* subscribeAll(clients, "news")
      // 20.0.2 invokePublish, 15.1.0 transmitPublish, 14.3.2 publish with ack.
      yield* Effect.promise(() => byName("20.0.2").publish("news", "from 20"))
      const v15 = byName("15.1.0").socket as unknown as { transmitPublish(c: string, d: unknown): void }
      v15.transmitPublish("news", "from 15")
      yield* Effect.promise(() => until(() => [...inboxes.values()].every((inbox) => inbox.length === 2)))
      yield* Effect.promise(() => byName("14.3.2").publish("news", "from 14"))
      yield* server.exchange.publish("news", { from: "server" })
      const expected = ["from 20", "from 15", "from 14", { from: "server" }]
      yield* Effect.promise(() => until(() => [...inboxes.values()].every((inbox) => inbox.length === 4)))
      for (const [client, inbox] of inboxes) assert.deepStrictEqual(inbox, expected, client.name)
      // V2-22: after one unsubscribes, the others still get publications and it does not.
      const leaver = byName("17.2.2")
      leaver.unsubscribe("news")
      yield* Effect.promise(() => until(() => !server.clients.get(leaver.socket.id!)!.isSubscribed("news")))
      yield* Effect.promise(() => byName("14.3.2").publish("news", "after"))
      const stayers = clients.filter((c) => c !== leaver)
      yield* Effect.promise(() => until(() => stayers.every((c) => inboxes.get(c)!.length === 5)))
      // The leaver's delivery would have been written before the publisher's ack.
      assert.strictEqual(inboxes.get(leaver)!.length, 4)
      for (const c of stayers) assert.strictEqual(inboxes.get(c)!.at(-1), "after", c.name)
    })
  )

  it.live("V2-23, V2-24: kickOut from one channel and from all, as each release reports it; delivery stops", () =>
    Effect.gen(function* () {
      const server = yield* startServer(pingOptions)
      const clients = (yield* connectAll(server.sourcePort!)).map(({ client }) => client)
      const news = yield* subscribeAll(clients, "news")
      const sport = yield* subscribeAll(clients, "sport")
      const weather = yield* subscribeAll(clients, "weather")
      for (const client of clients) {
        const kicked = client.next("kickOut")
        server.clients.get(client.socket.id!)!.kickOutUnsafe("news", "go away")
        assert.deepStrictEqual(
          yield* Effect.promise(() => kicked),
          { channel: "news", message: "go away" },
          client.name
        )
        if (client.protocol === 2) {
          const state = (client.socket as unknown as { getChannelState(c: string): string }).getChannelState("news")
          assert.strictEqual(state, "unsubscribed", client.name)
        }
        assert.isFalse(client.socket.isSubscribed("news"), client.name)
      }
      // V2-24: without a channel, one kickOut per subscribed channel.
      for (const client of clients) server.clients.get(client.socket.id!)!.kickOutUnsafe(undefined, "all out")
      yield* Effect.promise(() => until(() => clients.every((c) => c.kickOuts.length === 3)))
      for (const client of clients) {
        assert.sameDeepMembers(
          client.kickOuts.slice(1),
          [
            { channel: "sport", message: "all out" },
            { channel: "weather", message: "all out" }
          ],
          client.name
        )
      }
      // The broker really unsubscribed: only a fresh subscriber on a new channel hears anything.
      const probe = yield* subscribeAll([clients[0]!], "probe")
      for (const channel of ["news", "sport", "weather"]) yield* server.exchange.publish(channel, "lost")
      yield* server.exchange.publish("probe", "heard")
      yield* Effect.promise(() => until(() => probe.get(clients[0]!)!.length === 1))
      for (const client of clients) {
        assert.deepStrictEqual(news.get(client), [], client.name)
        assert.deepStrictEqual(sport.get(client), [], client.name)
        assert.deepStrictEqual(weather.get(client), [], client.name)
      }
    })
  )

  it.live("V2-44: batched invokes of a v2 client; batch subscribes of a v1 client", () =>
    Effect.gen(function* () {
      const server = yield* startServer(pingOptions)
      yield* server.handle("echo", (data) => Effect.succeed(data))
      const clients = (yield* connectAll(server.sourcePort!, ["14.3.2", "20.0.2"])).map(({ client }) => client)
      const [v14, v20] = clients as [AnyClient, AnyClient]
      const s20 = v20.socket as unknown as {
        startBatching(): void
        stopBatching(): void
        invoke(e: string, d: unknown): Promise<unknown>
      }
      s20.startBatching()
      const calls = [s20.invoke("echo", 1), s20.invoke("echo", 2), s20.invoke("echo", 3)]
      s20.stopBatching()
      assert.deepStrictEqual(yield* Effect.promise(() => Promise.all(calls)), [1, 2, 3])
      const batched: Array<unknown> = []
      yield* Effect.promise(() => v14.subscribe("b", (d) => batched.push(d), { batch: true }))
      assert.isTrue(v14.socket.isSubscribed("b"))
      yield* server.exchange.publish("b", "x")
      yield* Effect.promise(() => until(() => batched.length === 1))
    })
  )
})
