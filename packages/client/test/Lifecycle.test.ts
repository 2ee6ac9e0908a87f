/**
 * How a connection ends: a handshake the server rejects, a schedule that gives up, a
 * kick out of a channel, and the client's own disconnect.
 */
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { Middleware, SCServer } from "@effect-socketcluster/server"
import { Effect, Fiber, Layer, Option, Schedule, Stream } from "effect"
import { TestServer } from "../src/testing/index.js"

const rejectHandshake = (statusCode: number) =>
  SCServer.middleware("handshakeSC", () =>
    Effect.fail(
      new Middleware.MiddlewareRejection({
        error: new ApplicationError({ name: "LazyErr", message: "too lazy" }),
        statusCode
      })
    )
  ).pipe(Layer.provideMerge(TestServer.layer()))

describe("connection lifecycle", () => {
  it.live("a handshake rejected with 4501 fails connect with ConnectError carrying the server's error", () =>
    Effect.gen(function* () {
      const { url } = yield* TestServer.TestServer
      // 4500–4999 forbid reconnecting, even with a schedule.
      const error = yield* Effect.flip(TestServer.connect(url, { reconnect: Schedule.spaced("10 millis") }))
      assert.strictEqual(error._tag, "ConnectError")
      assert.strictEqual(error.code, 4501)
      assert.strictEqual(error.reason, "LazyErr: too lazy")
      assert.strictEqual(error.cause?.name, "LazyErr")
    }).pipe(Effect.scoped, Effect.provide(rejectHandshake(4501)))
  )

  it.live("a server that is not there: connect gives up when the schedule is done", () =>
    Effect.gen(function* () {
      const { port, server } = yield* TestServer.TestServer
      yield* server.close()
      const attempts: Array<number> = []
      const error = yield* Effect.flip(
        TestServer.connect(TestServer.urlFor(port), {
          reconnect: Schedule.recurs(2).pipe(Schedule.tap(() => Effect.sync(() => attempts.push(attempts.length))))
        })
      )
      assert.strictEqual(error._tag, "ConnectError")
      assert.strictEqual(error.code, 1006)
      assert.strictEqual(attempts.length, 2)
    }).pipe(Effect.scoped, Effect.provide(TestServer.layer()))
  )

  it.live("kickOut fails the channel's stream with KickedOutError", () =>
    Effect.gen(function* () {
      const { server } = yield* TestServer.TestServer
      const client = yield* TestServer.client()
      const news = yield* client.subscription("news")
      const state = yield* client.currentState
      const socket = server.clients.get(state._tag === "Open" ? state.id : "")!
      yield* socket.kickOut("news", "go away")
      const error = yield* Effect.flip(Stream.runDrain(news))
      assert.deepStrictEqual(
        { _tag: error._tag, channel: "channel" in error ? error.channel : "", message: error.message },
        { _tag: "KickedOutError", channel: "news", message: "go away" }
      )
      assert.isFalse(yield* client.isSubscribed("news"))
    }).pipe(Effect.scoped, Effect.provide(TestServer.layer()))
  )

  it.live("disconnect: the server sees the code and reason; the client is closed for good", () =>
    Effect.gen(function* () {
      const { server } = yield* TestServer.TestServer
      const closures = yield* Effect.forkChild(
        Stream.runHead(Stream.filter(server.events, (e) => e._tag === "Disconnection")),
        { startImmediately: true }
      )
      const client = yield* TestServer.client({ reconnect: Schedule.spaced("10 millis") })
      yield* client.disconnect(4123, "client reason")
      const event = Option.getOrUndefined(yield* Fiber.join(closures))
      assert.deepStrictEqual(event?._tag === "Disconnection" ? { code: event.code, data: event.data } : undefined, {
        code: 4123,
        data: "client reason"
      })
      assert.deepStrictEqual(yield* client.currentState, {
        _tag: "Closed",
        code: 4123,
        reason: "client reason",
        reconnecting: false
      })
      const after = yield* Effect.flip(client.invoke("echo"))
      assert.strictEqual(after._tag, "BadConnectionError")
    }).pipe(Effect.scoped, Effect.provide(TestServer.layer()))
  )
})
