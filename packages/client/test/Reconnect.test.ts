/**
 * Reconnection against this project's server: the server goes away and comes back on
 * the same port; the client reconnects on its schedule and resubscribes by itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { BrokerMemory } from "@effect-socketcluster/server"
import { startStoppableServer } from "@effect-socketcluster/server/testing"
import { Duration, Effect, Fiber, Layer, Schedule, Stream } from "effect"
import { ClientOptions } from "../src/index.js"
import { TestServer } from "../src/testing/index.js"

/** A server on `port` (0: a free one) that the test stops; each with its own auth key, so a token of one is refused by the next. */
const startServer = (port: number, authKey: string) =>
  startStoppableServer({ authKey: authKey.padEnd(40, "-") }, Layer.empty, BrokerMemory.layer, port)

describe("reconnect", () => {
  it.live("after a server restart: a new connection, the channel resubscribed, the token offered again", () =>
    Effect.gen(function* () {
      const first = yield* startServer(0, "first")
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

      const second = yield* startServer(port, "second")
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

  it.live("the default schedule: from about 250 ms, doubling, capped at 30 s, jittered", () =>
    Effect.gen(function* () {
      const delays = Effect.gen(function* () {
        const step = yield* Schedule.toStep(ClientOptions.defaultReconnect)
        const out: Array<number> = []
        for (let attempt = 0; attempt < 14; attempt++) {
          const [, delay] = yield* step(0, { code: 1006, reason: "Socket hung up" })
          out.push(Duration.toMillis(delay))
        }
        return out
      })
      const first = yield* delays
      assert.isAtLeast(first[0] ?? 0, 200)
      assert.isAtMost(first[0] ?? 0, 300)
      for (let i = 1; i < 6; i++) {
        const ratio = (first[i] ?? 0) / (first[i - 1] ?? 1)
        assert.isAtLeast(ratio, (2 * 0.8) / 1.2)
        assert.isAtMost(ratio, (2 * 1.2) / 0.8)
      }
      for (const delay of first) assert.isAtMost(delay, 30_000 * 1.2)
      assert.isAtLeast(Math.max(...first), 30_000 * 0.8)
      // Jitter: two outages do not retry on the same beat.
      assert.notDeepEqual(first, yield* delays)
    })
  )
})
