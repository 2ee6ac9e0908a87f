/**
 * The client against this project's server (protocol v1), through the test kit: real
 * sockets on loopback.
 */
import { NodeWS } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError, InvalidActionError } from "@effect-socketcluster/protocol"
import { SCServer } from "@effect-socketcluster/server"
import { Effect, Fiber, Layer, Option, Stream } from "effect"
import { SCClient } from "../src/index.js"
import { TestServer } from "../src/testing/index.js"

const KEY = "client-test-key-0123456789abcdef0123456789"

const openId = Effect.fnUntraced(function* (client: { readonly currentState: Effect.Effect<{ _tag: string }> }) {
  const state = yield* client.currentState
  assert.strictEqual(state._tag, "Open")
  return state._tag === "Open" && "id" in state ? String(state.id) : ""
})

/** A server with the handlers these tests call. */
const App = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* SCServer.SCServer
    yield* server.handle("echo", (data) => Effect.succeed(data))
    yield* server.handle("refuse", () =>
      Effect.fail(new ApplicationError({ name: "LoginError", message: "bad password", fields: { retry: 3 } }))
    )
    yield* server.handle("refuseBuiltin", () => Effect.fail(new InvalidActionError({ message: "not now" })))
    yield* server.handle("silent", () => Effect.never)
    yield* server.handle("login", (data, socket) => socket.setAuthToken(data).pipe(Effect.as("ok")))
    yield* server.handle("whoami", (_data, socket) => Effect.succeed(socket.getAuthToken() ?? null))
    yield* server.handle("askClient", (data, socket) => socket.invoke("double", data))
    yield* server.handle("emitMe", (data, socket) => socket.emit("fromServer", data))
  })
).pipe(Layer.provideMerge(TestServer.layer({ authKey: KEY })))

describe("SCClient against this server (v1)", () => {
  it.live("invoke: the answer, the server's error hydrated by name, a timeout", () =>
    Effect.gen(function* () {
      const client = yield* TestServer.client({ ackTimeout: "300 millis" })
      assert.deepStrictEqual(yield* client.invoke("echo", { a: [1, "x"] }), { a: [1, "x"] })

      const named = yield* Effect.flip(client.invoke("refuse"))
      assert.strictEqual(named._tag, "ApplicationError")
      assert.strictEqual(named.name, "LoginError")
      assert.strictEqual(named.message, "bad password")
      assert.deepStrictEqual(named._tag === "ApplicationError" ? named.fields : undefined, { retry: 3 })

      const builtin = yield* Effect.flip(client.invoke("refuseBuiltin"))
      assert.instanceOf(builtin, InvalidActionError)

      const timeout = yield* Effect.flip(client.invoke("silent"))
      assert.strictEqual(timeout._tag, "TimeoutError")
      assert.strictEqual(timeout.message, "Event response for 'silent' timed out")
    }).pipe(Effect.scoped, Effect.provide(App))
  )

  it.live("a call pending when the server drops the socket fails with BadConnectionError", () =>
    Effect.gen(function* () {
      const { server } = yield* TestServer.TestServer
      const client = yield* TestServer.client()
      const id = yield* openId(client)
      const pending = yield* Effect.forkChild(Effect.flip(client.invoke("silent")), { startImmediately: true })
      yield* server.clients.get(id)!.disconnect(4321, "bye")
      const error = yield* Fiber.join(pending)
      assert.strictEqual(error._tag, "BadConnectionError")
      const closed = yield* client.state.pipe(
        Stream.filter((s) => s._tag === "Closed"),
        Stream.runHead
      )
      assert.deepStrictEqual(Option.getOrUndefined(closed), {
        _tag: "Closed",
        code: 4321,
        reason: "bye",
        reconnecting: false
      })
    }).pipe(Effect.scoped, Effect.provide(App))
  )

  it.live("pub/sub: subscription, publish with ack, fire-and-forget, unsubscribe on scope close", () =>
    Effect.gen(function* () {
      const { server } = yield* TestServer.TestServer
      const [alice, bob] = yield* TestServer.clients(2)
      const news = yield* alice!.subscription("news")
      assert.isTrue(yield* alice!.isSubscribed("news"))
      yield* bob!.publish("news", { n: 1 })
      yield* bob!.transmitPublish("news", { n: 2 })
      yield* server.exchange.publish("news", { n: 3 })
      // The unacknowledged publication may arrive after the server's own.
      const got = yield* Stream.runCollect(Stream.take(news, 3))
      assert.deepStrictEqual(got.map((p) => (p as { n: number }).n).sort(), [1, 2, 3])

      // Two readers of one channel share one server subscription; the last one out unsubscribes.
      const id = yield* openId(alice!)
      const socket = server.clients.get(id)!
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sports = yield* alice!.subscription("sports")
          const again = yield* alice!.subscription("sports")
          assert.deepStrictEqual(socket.subscriptions(), ["news", "sports"])
          yield* bob!.publish("sports", "goal")
          assert.deepStrictEqual(yield* Stream.runCollect(Stream.take(sports, 1)), ["goal"])
          assert.deepStrictEqual(yield* Stream.runCollect(Stream.take(again, 1)), ["goal"])
        })
      )
      const unsubscribed = yield* server.events.pipe(
        Stream.filter((e) => e._tag === "Unsubscription"),
        Stream.runHead,
        Effect.timeoutOption("2 seconds")
      )
      // The #unsubscribe may already have been handled before the listener started.
      assert.isTrue(Option.isSome(unsubscribed) || !socket.isSubscribed("sports"))
      assert.deepStrictEqual(socket.subscriptions(), ["news"])
    }).pipe(Effect.scoped, Effect.provide(App))
  )

  it.live("a publish refused by middleware fails with the middleware's error; subscribe refused fails the stream", () =>
    Effect.gen(function* () {
      const client = yield* TestServer.client()
      const refused = yield* Effect.flip(client.publish("locked", 1))
      assert.strictEqual(refused.message, "locked channel")
      const subscribeRefused = yield* Effect.flip(Stream.runCollect(client.subscribe("locked")))
      assert.strictEqual(subscribeRefused.message, "locked channel")
      assert.isFalse(yield* client.isSubscribed("locked"))
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Layer.mergeAll(
          SCServer.middleware("publishIn", (req) =>
            req.channel === "locked" ? Effect.fail(new Error("locked channel")) : Effect.void
          ),
          SCServer.middleware("subscribe", (req) =>
            req.channel === "locked" ? Effect.fail(new Error("locked channel")) : Effect.void
          )
        ).pipe(Layer.provideMerge(App))
      )
    )
  )

  it.live("auth: server setAuthToken, the token on reconnect, authenticate, deauthenticate", () =>
    Effect.gen(function* () {
      const { url } = yield* TestServer.TestServer
      const client = yield* TestServer.client()
      assert.strictEqual(yield* client.invoke("login", { username: "alice" }), "ok")
      const state = yield* client.currentAuthState
      assert.strictEqual(state._tag, "Authenticated")
      const signed = state._tag === "Authenticated" ? state.signedToken : ""
      assert.strictEqual(
        (state._tag === "Authenticated" ? (state.token as { username: string }) : undefined)?.username,
        "alice"
      )
      assert.strictEqual(((yield* client.invoke("whoami")) as { username: string }).username, "alice")

      // A second client authenticates with the signed token.
      const other = yield* TestServer.connect(url, { reconnect: false })
      assert.isNull(yield* other.invoke("whoami"))
      const result = yield* other.authenticate(signed)
      assert.deepStrictEqual(result, { isAuthenticated: true, authError: undefined })
      assert.strictEqual(((yield* other.invoke("whoami")) as { username: string }).username, "alice")

      // A bad token fails with the catalogue error.
      const bad = yield* Effect.flip(other.authenticate("bad.token.x"))
      assert.strictEqual(bad._tag, "AuthTokenInvalidError")

      yield* client.deauthenticate
      assert.strictEqual((yield* client.currentAuthState)._tag, "Unauthenticated")
      assert.isNull(yield* client.invoke("whoami"))
    }).pipe(Effect.scoped, Effect.provide(App))
  )

  it.live("server emits arrive on receive(event); the server's invokes are answered by serve", () =>
    Effect.gen(function* () {
      const client = yield* TestServer.client()
      const received = yield* Effect.forkChild(Stream.runCollect(Stream.take(client.receive("fromServer"), 2)), {
        startImmediately: true
      })
      yield* Effect.yieldNow
      yield* client.transmit("emitMe", "one")
      yield* client.invoke("emitMe", "two")
      assert.deepStrictEqual(yield* Fiber.join(received), ["one", "two"])

      yield* client.serve("double", (n) => Effect.succeed(Number(n) * 2))
      assert.strictEqual(yield* client.invoke("askClient", 21), 42)
    }).pipe(Effect.scoped, Effect.provide(App))
  )

  it.live("SCClient.layer: the client as a service, connected for the layer's lifetime", () =>
    Effect.gen(function* () {
      const { server, url } = yield* TestServer.TestServer
      const ClientLive = SCClient.layer(url, { reconnect: false }).pipe(Layer.provide(NodeWS.layerWebSocketConstructor))
      const gone = yield* Effect.forkChild(
        server.events.pipe(
          Stream.filter((e) => e._tag === "Disconnection"),
          Stream.runHead
        ),
        { startImmediately: true }
      )
      const answer = yield* Effect.gen(function* () {
        const client = yield* SCClient.SCClient
        assert.strictEqual(server.clientsCount, 1)
        return yield* client.invoke("echo", "through the service")
      }).pipe(Effect.provide(ClientLive))
      assert.strictEqual(answer, "through the service")
      // Released with the layer: the server sees the socket go.
      assert.strictEqual(Option.getOrUndefined(yield* Fiber.join(gone))?._tag, "Disconnection")
    }).pipe(Effect.scoped, Effect.provide(App))
  )
})
