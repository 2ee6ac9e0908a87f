/**
 * Reconnection against this project's server: the server goes away and comes back on
 * the same port; the client reconnects on its schedule and resubscribes by itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { BrokerMemory, SCServer } from "@effect-socketcluster/server"
import { Context, Effect, Exit, Fiber, Layer, Schedule, Scope, Stream } from "effect"
import { TestServer } from "../src/testing/index.js"

/** A server on `port` in its own scope, so the test can stop it and start another. */
const startServer = (port: number) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      SCServer.layer({ port, host: "127.0.0.1" }).pipe(Layer.provide(BrokerMemory.layer)),
      scope
    )
    const server = Context.get(context, SCServer.SCServer)
    return { server, stop: Scope.close(scope, Exit.void) }
  })

describe("reconnect", () => {
  it.live("after a server restart: a new connection, the channel resubscribed, the token offered again", () =>
    Effect.gen(function* () {
      const first = yield* startServer(0)
      const port = first.server.sourcePort!
      yield* first.server.handle("login", (data, socket) => socket.setAuthToken(data).pipe(Effect.as("ok")))
      const client = yield* TestServer.connect(TestServer.urlFor(port), {
        reconnect: Schedule.spaced("50 millis")
      })
      const opened = (yield* client.currentState) as { readonly id: string }
      yield* client.invoke("login", { username: "bob" })
      const news = yield* client.subscription("news")

      const reconnecting = yield* Effect.forkChild(
        client.state.pipe(
          Stream.filter((s) => s._tag === "Closed"),
          Stream.runHead
        ),
        { startImmediately: true }
      )
      yield* first.stop
      const closed = yield* Fiber.join(reconnecting)
      assert.deepStrictEqual(closed._tag === "Some" ? closed.value : undefined, {
        _tag: "Closed",
        code: 1001,
        reason: "",
        reconnecting: true
      })
      assert.isFalse(yield* client.isSubscribed("news"))

      const second = yield* startServer(port)
      const resubscribed = yield* second.server.events.pipe(
        Stream.filter((e) => e._tag === "Subscription"),
        Stream.runHead
      )
      assert.strictEqual(resubscribed._tag === "Some" ? resubscribed.value._tag : undefined, "Subscription")
      const state = yield* client.currentState
      assert.strictEqual(state._tag, "Open")
      assert.notStrictEqual((state as { readonly id: string }).id, opened.id)
      // The second server has another auth key: the stored token was offered and refused.
      assert.isFalse((state as { readonly isAuthenticated: boolean }).isAuthenticated)
      assert.strictEqual(
        (state as { readonly authError?: { readonly _tag: string } }).authError?._tag,
        "AuthTokenInvalidError"
      )

      yield* second.server.exchange.publish("news", "after restart")
      assert.deepStrictEqual(yield* Stream.runCollect(Stream.take(news, 1)), ["after restart"])
      yield* second.stop
    }).pipe(Effect.scoped)
  )
})
