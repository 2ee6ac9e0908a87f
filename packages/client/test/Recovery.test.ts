/**
 * Recovering subscriptions against this project's server with channel history: what is
 * published while the client is away comes back once and in order after it reconnects,
 * and a `Gap` marks what history could not give back.
 */
import { assert, describe, it } from "@effect/vitest"
import { Broker, BrokerMemory, type History, SCServer } from "@effect-socketcluster/server"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Schedule, Scope, Stream } from "effect"
import type { Recovery, SCClient } from "../src/index.js"
import { TestServer } from "../src/testing/index.js"

const history: History.HistoryConfig = {
  default: { length: 100 },
  channels: [
    { pattern: "short:*", history: { length: 2 } },
    { pattern: "plain:*", history: "off" }
  ]
}

/**
 * While closed, handshakes wait at the server (a handshakeSC middleware), so the test
 * knows the client is away for as long as it publishes.
 */
const handshakeGate = (server: SCServer.SCServerCore) =>
  Effect.gen(function* () {
    let gate: Deferred.Deferred<void> | undefined
    yield* server.addMiddleware("handshakeSC", () => Effect.suspend(() => (gate ? Deferred.await(gate) : Effect.void)))
    return {
      close: Effect.sync(() => {
        gate = Deferred.makeUnsafe<void>()
      }),
      open: Effect.suspend(() => (gate ? Deferred.succeed(gate, undefined) : Effect.void))
    }
  })

const firstState = (client: SCClient.Client, tag: "Open" | "Closed") =>
  Stream.runHead(Stream.filter(client.state, (s) => s._tag === tag))

/** The server drops the client's socket (a code that lets it reconnect) and the handshake gate holds it away. */
const dropClient = (
  server: SCServer.SCServerCore,
  client: SCClient.Client,
  gate: { readonly close: Effect.Effect<void> }
) =>
  Effect.gen(function* () {
    const state = yield* client.currentState
    const socket = server.clients.get(state._tag === "Open" ? state.id : "")
    if (socket === undefined) return assert.fail("the client's socket is not on the server")
    yield* gate.close
    const closed = yield* Effect.forkChild(firstState(client, "Closed"), { startImmediately: true })
    yield* socket.disconnect(4100, "dropped by the test")
    yield* Fiber.join(closed)
  })

const take = (stream: Stream.Stream<Recovery.Event, unknown>, n: number) =>
  Effect.map(Stream.runCollect(Stream.take(stream, n)), (events) => [...events])

const publication = (data: unknown, offset: number, epoch: string): Recovery.Event => ({
  _tag: "Publication",
  data,
  position: { offset, epoch }
})

const epochOf = (event: Recovery.Event | undefined): string =>
  event?._tag === "Publication" ? (event.position?.epoch ?? "") : ""

const Server = TestServer.layer({}, BrokerMemory.layerWith({ history }))
const reconnecting = { reconnect: Schedule.spaced("20 millis") } as const

/**
 * The test server, a reconnecting client of it, and `whileAway`: drops the client, runs
 * `effect` while the handshake gate holds it away, then lets it back in.
 */
const gatedClient = Effect.gen(function* () {
  const { server } = yield* TestServer.TestServer
  const gate = yield* handshakeGate(server)
  const client = yield* TestServer.client(reconnecting)
  const whileAway = <E>(effect: Effect.Effect<void, E>) =>
    Effect.gen(function* () {
      yield* dropClient(server, client, gate)
      yield* effect
      yield* gate.open
    })
  return { server, client, whileAway } as const
})

describe("recovering subscriptions", () => {
  it.live("what is published during a server-side disconnect comes back once, in order, before what is new", () =>
    Effect.gen(function* () {
      const { server, client, whileAway } = yield* gatedClient
      const news = yield* client.subscriptionRecovering("news")
      for (const n of [1, 2, 3]) yield* server.exchange.publish("news", n)
      const before = yield* take(news, 3)
      const epoch = epochOf(before[0])
      assert.deepStrictEqual(before, [publication(1, 1, epoch), publication(2, 2, epoch), publication(3, 3, epoch)])

      yield* whileAway(
        Effect.gen(function* () {
          assert.isFalse(yield* client.isSubscribed("news"))
          for (const n of [4, 5, 6, 7, 8]) yield* server.exchange.publish("news", n)
        })
      )
      yield* firstState(client, "Open")
      const missed = yield* take(news, 5)
      assert.deepStrictEqual(
        missed,
        [4, 5, 6, 7, 8].map((n) => publication(n, n, epoch))
      )
      yield* server.exchange.publish("news", 9)
      // The very next element is the live one: no duplicate, no gap in between.
      assert.deepStrictEqual(yield* take(news, 1), [publication(9, 9, epoch)])
    }).pipe(Effect.scoped, Effect.provide(Server))
  )

  it.live("history too short: a Gap, then what history still held, then what is new", () =>
    Effect.gen(function* () {
      const { server, client, whileAway } = yield* gatedClient
      const ticks = yield* client.subscriptionRecovering("short:ticks")
      yield* server.exchange.publish("short:ticks", "a")
      const [first] = yield* take(ticks, 1)
      const epoch = epochOf(first)

      yield* whileAway(
        Effect.forEach(["b", "c", "d", "e"], (data) => server.exchange.publish("short:ticks", data), { discard: true })
      )
      const recovered = yield* take(ticks, 3)
      assert.deepStrictEqual(recovered, [
        {
          _tag: "Gap",
          reason: "Trimmed",
          since: { offset: 1, epoch },
          position: { offset: 5, epoch }
        },
        publication("d", 4, epoch),
        publication("e", 5, epoch)
      ])
      yield* server.exchange.publish("short:ticks", "f")
      assert.deepStrictEqual(yield* take(ticks, 1), [publication("f", 6, epoch)])
    }).pipe(Effect.scoped, Effect.provide(Server))
  )

  it.live("a channel without history reports NoHistory after a reconnect; a channel is recovering or not", () =>
    Effect.gen(function* () {
      const { server, client, whileAway } = yield* gatedClient
      const cursor = yield* client.subscriptionRecovering("plain:cursor")
      yield* server.exchange.publish("plain:cursor", 1)
      assert.deepStrictEqual(yield* take(cursor, 1), [{ _tag: "Publication", data: 1, position: undefined }])

      const plain = yield* client.subscription("plain:other")
      const mixed = yield* Effect.flip(client.subscriptionRecovering("plain:other"))
      assert.strictEqual(mixed.name, "InvalidArgumentsError")
      yield* server.exchange.publish("plain:other", "still there")
      assert.deepStrictEqual([...(yield* Stream.runCollect(Stream.take(plain, 1)))], ["still there"])

      yield* whileAway(server.exchange.publish("plain:cursor", "lost"))
      assert.deepStrictEqual(yield* take(cursor, 1), [
        { _tag: "Gap", reason: "NoHistory", since: undefined, position: undefined }
      ])
      yield* server.exchange.publish("plain:cursor", 3)
      assert.deepStrictEqual(yield* take(cursor, 1), [{ _tag: "Publication", data: 3, position: undefined }])
    }).pipe(Effect.scoped, Effect.provide(Server))
  )

  it.live("after a restart with an empty history (a new epoch): EpochChanged, then the new stream", () =>
    Effect.gen(function* () {
      // The second server's broker gets its publications before the server listens, so
      // the client is certainly away while they are published.
      const start = (port: number, before: (broker: Broker.BrokerShape) => Effect.Effect<void, unknown>) =>
        Effect.gen(function* () {
          const scope = yield* Scope.make()
          const broker = yield* Layer.buildWithScope(BrokerMemory.layerWith({ history }), scope)
          yield* before(Context.get(broker, Broker.Broker))
          const context = yield* Layer.buildWithScope(
            SCServer.layer({ port, host: "127.0.0.1" }).pipe(Layer.provide(Layer.succeedContext(broker))),
            scope
          )
          return { server: Context.get(context, SCServer.SCServer), stop: Scope.close(scope, Exit.void) }
        })
      const first = yield* start(0, () => Effect.void)
      const port = first.server.sourcePort ?? 0
      const client = yield* TestServer.connect(TestServer.urlFor(port), reconnecting)
      const news = yield* client.subscriptionRecovering("news")
      yield* first.server.exchange.publish("news", "old")
      const [old] = yield* take(news, 1)
      const closed = yield* Effect.forkChild(firstState(client, "Closed"), { startImmediately: true })
      yield* first.stop
      yield* Fiber.join(closed)

      yield* Effect.acquireRelease(
        start(port, (broker) => Effect.andThen(broker.publish("news", "new 1"), broker.publish("news", "new 2"))),
        (s) => s.stop
      )
      const [gap, ...rest] = yield* take(news, 3)
      const epoch = epochOf(rest[0])
      assert.notStrictEqual(epoch, epochOf(old))
      assert.deepStrictEqual(gap, {
        _tag: "Gap",
        reason: "EpochChanged",
        since: { offset: 1, epoch: epochOf(old) },
        position: { offset: 2, epoch }
      })
      assert.deepStrictEqual(rest, [publication("new 1", 1, epoch), publication("new 2", 2, epoch)])
    }).pipe(Effect.scoped)
  )
})
