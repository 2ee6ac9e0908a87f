import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { ServerEvent, SocketEvent } from "../src/Events.js"
import { connectClient, startServer, subscribe, waitForServerEvent } from "./helpers.js"

describe("listening to some event kinds", () => {
  it.live("a server listener of some kinds hears only those, and the others have no audience", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const heard: Array<ServerEvent> = []
      const stop = server.hub.listen((e) => heard.push(e), ["Connection", "Subscription"])
      assert.isTrue(server.hub.listens("Subscription"))
      assert.isFalse(server.hub.listens("Unsubscription"))
      assert.isFalse(server.hub.listens("Closure"))

      const client = yield* connectClient(server)
      yield* subscribe(client, "a", { data: 7 })
      // A listener of every kind, until the unsubscribe is processed.
      const unsubscribed = yield* Effect.forkChild(waitForServerEvent(server, "Unsubscription"), {
        startImmediately: true
      })
      assert.isTrue(server.hub.listens("Closure"))
      client.unsubscribe("a")
      const unsubscription = yield* Fiber.join(unsubscribed)
      assert.strictEqual(unsubscription.channel, "a")
      assert.isFalse(server.hub.listens("Closure"))

      assert.deepStrictEqual(
        heard.map((e) => e._tag),
        ["Connection", "Subscription"]
      )
      const subscription = heard[1]
      assert.strictEqual(subscription?._tag, "Subscription")
      if (subscription?._tag === "Subscription") {
        assert.strictEqual(subscription.channel, "a")
        assert.strictEqual(subscription.options.channel, "a")
        assert.strictEqual(subscription.options.data, 7)
      }
      stop()
      assert.isFalse(server.hub.listens("Connection"))
      assert.isFalse(server.hub.active)
    })
  )

  it.live("a socket's Subscribe listener hears subscribes while the server has none", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      const socket = server.clients.get(client.id!)!
      const heard: Array<SocketEvent> = []
      socket.hub.listen((e) => heard.push(e), ["Subscribe"])
      assert.isFalse(server.hub.listens("Subscription"))
      yield* subscribe(client, "b")
      yield* subscribe(client, "c")
      assert.deepStrictEqual(
        heard.map((e) => (e._tag === "Subscribe" ? e.channel : e._tag)),
        ["b", "c"]
      )
      assert.isTrue(socket.isSubscribed("b"))
    })
  )
})
