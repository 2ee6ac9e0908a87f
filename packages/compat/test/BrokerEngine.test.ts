/**
 * A v14 EventEmitter broker engine — sc-simple-broker from npm, socketcluster-server 14's
 * default — as the facade's `brokerEngine`: publications from clients and from the
 * exchange go through the engine and reach subscribers once each.
 */
import { createRequire } from "node:module"
import { assert, describe, it } from "vitest"
import { connectClient, publish, startServer, subscribe } from "./helpers.js"

interface SimpleBroker {
  readonly _clientSubscribers: Record<string, Record<string, unknown>>
  publish(channel: string, data: unknown, callback?: (error?: unknown) => void): void
  subscribeSocket(socket: { readonly id: string }, channel: string, callback?: (error?: unknown) => void): void
  unsubscribeSocket(socket: { readonly id: string }, channel: string, callback?: (error?: unknown) => void): void
  once(event: "ready", listener: () => void): void
}
const { SCSimpleBroker } = createRequire(import.meta.url)("sc-simple-broker") as {
  readonly SCSimpleBroker: new () => SimpleBroker
}

describe("v14 brokerEngine", () => {
  it("sc-simple-broker carries every publication; the server subscribes it once per channel", async () => {
    const engine = new SCSimpleBroker()
    const published: Array<[string, unknown]> = []
    const enginePublish = engine.publish.bind(engine)
    engine.publish = (channel, data, callback) => {
      published.push([channel, data])
      enginePublish(channel, data, callback)
    }
    const server = await startServer({ brokerEngine: engine })
    assert.strictEqual(server.brokerEngine, engine)
    const alice = await connectClient(server)
    const bob = await connectClient(server)
    const received: Array<[string, unknown]> = []
    const channels = await Promise.all([subscribe(alice, "room"), subscribe(bob, "room")])
    const all = new Promise<void>((resolve) => {
      for (const [i, channel] of channels.entries()) {
        channel.watch((data) => {
          if (received.push([i === 0 ? "alice" : "bob", data]) === 3 * 2) resolve()
        })
      }
    })
    // Two sockets on one channel: one stand-in subscription in the engine.
    assert.strictEqual(Object.keys(engine._clientSubscribers.room ?? {}).length, 1)

    const [error] = await publish(alice, "room", "from alice")
    assert.isNull(error)
    server.exchange.publish("room", "from the server")
    await publish(bob, "room", "from bob")
    await all
    assert.deepStrictEqual(published, [
      ["room", "from alice"],
      ["room", "from the server"],
      ["room", "from bob"]
    ])
    for (const name of ["alice", "bob"]) {
      assert.deepStrictEqual(
        received.filter(([who]) => who === name).map(([, data]) => data),
        ["from alice", "from the server", "from bob"]
      )
    }

    // The last local subscriber leaving withdraws the stand-in from the engine.
    const unsubscribed = new Promise<void>((resolve) => {
      const engineUnsubscribe = engine.unsubscribeSocket.bind(engine)
      engine.unsubscribeSocket = (socket, channel, callback) => {
        engineUnsubscribe(socket, channel, callback)
        resolve()
      }
    })
    alice.unsubscribe("room")
    bob.unsubscribe("room")
    await unsubscribed
    assert.isUndefined(engine._clientSubscribers.room)
  })
})
