/**
 * The client against four servers: this project's (with a v1 and a v2 client) and the
 * original socketcluster-server 14.7.2 and 20.0.1 from npm. Each: invoke, pub/sub, auth,
 * and reconnect after a server restart with resubscription.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Schedule, Stream } from "effect"
import { TestServer } from "../src/testing/index.js"
import { type Flavour, original14, original20, ours } from "./servers.js"

const flavours: ReadonlyArray<Flavour> = [ours(1), ours(2), original14, original20]

const tokenOf = (state: { readonly _tag: string }): unknown =>
  state._tag === "Authenticated" && "token" in state ? state.token : undefined

for (const flavour of flavours) {
  describe(flavour.name, () => {
    const started = Effect.acquireRelease(flavour.start(0), (server) => server.stop)
    const connect = (port: number, options: Parameters<typeof TestServer.connect>[1] = {}) =>
      TestServer.connect(TestServer.urlFor(port), { protocolVersion: flavour.protocolVersion, ...options })

    it.live("invoke: the answer and the server's named error", () =>
      Effect.gen(function* () {
        const server = yield* started
        const client = yield* connect(server.port, { reconnect: false })
        assert.deepStrictEqual(yield* client.invoke("echo", { a: [1, "ü"] }), { a: [1, "ü"] })
        const error = yield* Effect.flip(client.invoke("refuse"))
        assert.strictEqual(error.name, "LoginError")
        assert.strictEqual(error.message, "bad password")
      }).pipe(Effect.scoped)
    )

    it.live("pub/sub: a client's publication (acked and not) and the server's reach a subscriber", () =>
      Effect.gen(function* () {
        const server = yield* started
        const subscriber = yield* connect(server.port, { reconnect: false })
        const publisher = yield* connect(server.port, { reconnect: false })
        const news = yield* subscriber.subscription("news")
        yield* publisher.publish("news", "acked")
        yield* publisher.transmitPublish("news", "unacked")
        const firstTwo = yield* Stream.runCollect(Stream.take(news, 2))
        assert.deepStrictEqual([...firstTwo].sort(), ["acked", "unacked"])
        yield* server.publish("news", "from the server")
        assert.deepStrictEqual(yield* Stream.runCollect(Stream.take(news, 1)), ["from the server"])
      }).pipe(Effect.scoped)
    )

    it.live("auth: the server signs a token; another client authenticates with it; deauthenticate", () =>
      Effect.gen(function* () {
        const server = yield* started
        const client = yield* connect(server.port, { reconnect: false })
        assert.strictEqual(yield* client.invoke("login", { username: "carol" }), "ok")
        // v2 servers send #setAuthToken after the answer (protocol-v2 §2): wait for it.
        const state = Option.getOrThrow(
          yield* Stream.runHead(Stream.filter(client.authState, (s) => s._tag === "Authenticated"))
        )
        assert.strictEqual((tokenOf(state) as { username?: string }).username, "carol")
        const signed = state._tag === "Authenticated" ? state.signedToken : ""

        const other = yield* connect(server.port, { reconnect: false })
        assert.isNull(yield* other.invoke("whoami"))
        const result = yield* other.authenticate(signed)
        assert.isTrue(result.isAuthenticated)
        assert.strictEqual(((yield* other.invoke("whoami")) as { username: string }).username, "carol")
        const bad = yield* Effect.flip(other.authenticate("bad.token.x"))
        assert.strictEqual(bad._tag, "AuthTokenInvalidError")

        yield* client.deauthenticate
        assert.strictEqual((yield* client.currentAuthState)._tag, "Unauthenticated")
        assert.isNull(yield* client.invoke("whoami"))
      }).pipe(Effect.scoped)
    )

    it.live("reconnect after a server restart, with resubscription", () =>
      Effect.gen(function* () {
        const first = yield* flavour.start(0)
        const port = first.port
        const client = yield* connect(port, { reconnect: Schedule.spaced("50 millis") })
        const before = yield* client.currentState
        const news = yield* client.subscription("news")
        // Recovery asked of every server: ours resumes it, the originals treat it as an ordinary subscription.
        const log = yield* client.subscriptionRecovering("log")
        yield* first.publish("log", "before restart")
        const [logged] = yield* Stream.runCollect(Stream.take(log, 1))
        assert.strictEqual(logged?._tag === "Publication" ? logged.data : undefined, "before restart")
        const dropped = yield* Effect.forkChild(
          Stream.runHead(Stream.filter(client.state, (s) => s._tag === "Closed")),
          { startImmediately: true }
        )
        yield* first.stop
        const closed = Option.getOrUndefined(yield* Fiber.join(dropped))
        assert.isTrue(closed?._tag === "Closed" && closed.reconnecting)

        const second = yield* Effect.acquireRelease(flavour.start(port), (server) => server.stop)
        const reopened = yield* client.state.pipe(
          Stream.filter((s) => s._tag === "Open"),
          Stream.runHead
        )
        const after = Option.getOrUndefined(reopened)
        assert.strictEqual(after?._tag, "Open")
        assert.notStrictEqual(after?._tag === "Open" ? after.id : "", before._tag === "Open" ? before.id : "")
        // A second reader of the channel waits for the server's confirmation of the resubscription.
        yield* Effect.scoped(client.subscription("news"))
        assert.isTrue(yield* client.isSubscribed("news"))
        yield* second.publish("news", "after restart")
        assert.deepStrictEqual(yield* Stream.runCollect(Stream.take(news, 1)), ["after restart"])
        // The restarted server has a fresh history (ours: a new epoch); the originals keep none.
        const [gap] = yield* Stream.runCollect(Stream.take(log, 1))
        assert.strictEqual(
          gap?._tag === "Gap" ? gap.reason : undefined,
          flavour.recovers ? "EpochChanged" : "Unsupported"
        )
        yield* second.publish("log", "after restart")
        const [next] = yield* Stream.runCollect(Stream.take(log, 1))
        assert.strictEqual(next?._tag === "Publication" ? next.data : undefined, "after restart")
      }).pipe(Effect.scoped)
    )
  })
}
