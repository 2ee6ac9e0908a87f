import { assert, describe, it } from "@effect/vitest"
import { ApplicationError, Codec, type CodecEngine, json } from "@effect-socketcluster/protocol"
import { Deferred, Effect, Fiber, Layer, Stream } from "effect"
import { Broker } from "../src/Broker.js"
import * as BrokerMemory from "../src/BrokerMemory.js"
import {
  type ClientSocket,
  connectClient,
  nextClientEvent,
  publish,
  rawClient,
  recordServerEvents,
  startServer,
  subscribe,
  waitForServerEvent
} from "./helpers.js"

/** Collects `count` publications a client receives on `channel`. */
const collect = (client: ClientSocket, channel: string, count: number) =>
  Effect.callback<Array<unknown>>((resume) => {
    const got: Array<unknown> = []
    const ch = client.subscribe(channel)
    ch.watch((data) => {
      got.push(data)
      if (got.length === count) resume(Effect.succeed(got))
    })
  })

const handshake = JSON.stringify({ event: "#handshake", data: {}, cid: 1 })

describe("pub/sub", () => {
  it.live("subscribe, publish and unsubscribe round trips with the real client", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const events = yield* recordServerEvents(server)
      const a = yield* connectClient(server)
      const b = yield* connectClient(server)
      const channel = yield* subscribe(b, "chat")
      assert.deepStrictEqual(server.clients.get(b.id!)!.subscriptions(), ["chat"])
      const got = Effect.callback<unknown>((resume) => channel.watch((d) => resume(Effect.succeed(d))))
      const fiber = yield* Effect.forkChild(got, { startImmediately: true })
      yield* publish(a, "chat", { text: "hi" })
      assert.deepStrictEqual(yield* Fiber.join(fiber), { text: "hi" })
      const sub = events.find((e) => e._tag === "Subscription")
      assert.deepStrictEqual(sub?._tag === "Subscription" ? [sub.channel, sub.options] : undefined, [
        "chat",
        { channel: "chat" }
      ])
      const unsubscribed = yield* Effect.forkChild(waitForServerEvent(server, "Unsubscription"), {
        startImmediately: true
      })
      b.unsubscribe("chat")
      yield* Fiber.join(unsubscribed)
      assert.strictEqual(server.registry.brokerSubscriptionCount, 0)
      assert.isTrue(events.some((e) => e._tag === "Unsubscription" && e.channel === "chat"))
    })
  )

  it.live("the raw protocol: subscribe answers, delivery frames, batch answers, errors for bad channels", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const raw = yield* rawClient(server)
      raw.send(handshake)
      yield* raw.waitFor((f) => f.startsWith('{"rid":1'))
      raw.send(JSON.stringify({ event: "#subscribe", data: { channel: "ch1" }, cid: 2 }))
      assert.strictEqual(yield* raw.waitFor((f) => f.includes('"rid":2')), '{"rid":2}')
      raw.send(JSON.stringify([{ event: "#subscribe", data: { channel: "ch2", data: { p: 1 }, batch: true }, cid: 3 }]))
      assert.strictEqual(yield* raw.waitFor((f) => f.includes('"rid":3')), '[{"rid":3}]')
      raw.send(JSON.stringify({ event: "#publish", data: { channel: "ch1", data: "pubdata" }, cid: 4 }))
      assert.strictEqual(
        yield* raw.waitFor((f) => f.startsWith('{"event":"#publish"')),
        '{"event":"#publish","data":{"channel":"ch1","data":"pubdata"}}'
      )
      yield* raw.waitFor((f) => f === '{"rid":4}')
      raw.send(JSON.stringify({ event: "#subscribe", data: { channel: 42 }, cid: 5 }))
      const bad = JSON.parse(yield* raw.waitFor((f) => f.includes('"rid":5')))
      assert.strictEqual(bad.error.name, "BrokerError")
      assert.include(bad.error.message, "provided an invalid channel name")
      raw.send(JSON.stringify({ event: "#unsubscribe", data: "never", cid: 6 }))
      const notSub = JSON.parse(yield* raw.waitFor((f) => f.includes('"rid":6')))
      assert.include(notSub.error.message, "tried to unsubscribe from a channel which it is not subscribed to")
    })
  )

  it.live("publishIn: blocks with an error the publisher sees and nobody receives; rewrites data; ackData", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.addMiddleware("publishIn", (req) => {
        if (req.data === "") {
          req.ackData = "bad-ack"
          return Effect.fail(new ApplicationError({ name: "EmptyMessage", message: "Say something" }))
        }
        if (req.data === "shout") req.data = "SHOUT"
        req.ackData = { acked: true }
        return Effect.void
      })
      const pub = yield* connectClient(server)
      const sub = yield* connectClient(server)
      const fiber = yield* Effect.forkChild(collect(sub, "room", 1), { startImmediately: true })
      yield* Effect.callback<void>((resume) => {
        const socket = server.clients.get(sub.id!)!
        if (socket.isSubscribed("room")) return resume(Effect.void)
        socket.hub.listen((e) => {
          if (e._tag === "Subscribe") resume(Effect.void)
        })
      })
      const error = (yield* Effect.flip(publish(pub, "room", ""))) as Error
      assert.strictEqual(error.name, "EmptyMessage")
      assert.deepStrictEqual(yield* publish(pub, "room", "shout"), { acked: true })
      // The rejected message never arrived: the first delivery is the rewritten one.
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["SHOUT"])
    })
  )

  it.live("publishOut blocks or rewrites delivery to one subscriber only", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const a = yield* connectClient(server)
      const b = yield* connectClient(server)
      yield* server.addMiddleware("publishOut", (req) => {
        if (req.socket.id === a.id && req.data === "secret") return Effect.fail(new Error("not for a"))
        if (req.socket.id === b.id) req.data = `b:${String(req.data)}`
        return Effect.void
      })
      const fa = yield* Effect.forkChild(collect(a, "news", 1), { startImmediately: true })
      const fb = yield* Effect.forkChild(collect(b, "news", 2), { startImmediately: true })
      yield* Effect.callback<void>((resume) => {
        const check = () => server.registry.subscribers("news").size === 2 && resume(Effect.void)
        if (!check()) server.hub.listen((e) => e._tag === "Subscription" && check())
      })
      yield* server.exchange.publish("news", "secret")
      yield* server.exchange.publish("news", "public")
      assert.deepStrictEqual(yield* Fiber.join(fa), ["public"])
      assert.deepStrictEqual(yield* Fiber.join(fb), ["b:secret", "b:public"])
    })
  )

  it.live("kickOut with a channel and without one really unsubscribes", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      yield* subscribe(client, "a")
      yield* subscribe(client, "b")
      yield* subscribe(client, "c")
      const socket = server.clients.get(client.id!)!
      const kicked = yield* Effect.forkChild(nextClientEvent(client, "kickOut"), { startImmediately: true })
      yield* socket.kickOut("a", "go away")
      assert.deepStrictEqual(yield* Fiber.join(kicked), ["go away", "a"])
      assert.deepStrictEqual(socket.subscriptions(), ["b", "c"])
      yield* socket.kickOut()
      assert.deepStrictEqual(socket.subscriptions(), [])
      assert.strictEqual(server.registry.subscribers("b").size, 0)
      assert.strictEqual(server.registry.brokerSubscriptionCount, 0)
    })
  )

  it.live("socketChannelLimit and allowClientPublish: false", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ socketChannelLimit: 2, allowClientPublish: false })
      const client = yield* connectClient(server)
      yield* subscribe(client, "one")
      yield* subscribe(client, "two")
      const error = (yield* Effect.flip(subscribe(client, "three"))) as Error
      assert.strictEqual(error.name, "BrokerError")
      assert.include(error.message, "tried to exceed the channel subscription limit of 2")
      const denied = (yield* Effect.flip(publish(client, "one", 1))) as Error
      assert.strictEqual(denied.name, "InvalidActionError")
      assert.strictEqual(denied.message, "Client publish feature is disabled")
    })
  )

  it.live(
    "order holds under asynchronous middleware: 1,000 messages to 50 subscribers",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        // Random small delays make later messages finish middleware first unless the server keeps order.
        yield* server.addMiddleware("publishIn", () => Effect.sleep(Math.random() < 0.1 ? 2 : 0))
        yield* server.addMiddleware("publishOut", () => (Math.random() < 0.01 ? Effect.sleep(1) : Effect.void))
        const subscribers = yield* Effect.forEach(Array.from({ length: 50 }), () => connectClient(server), {
          concurrency: 10
        })
        const fibers = yield* Effect.forEach(subscribers, (c) =>
          Effect.forkChild(collect(c, "seq", 1000), { startImmediately: true })
        )
        yield* Effect.callback<void>((resume) => {
          const check = () => server.registry.subscribers("seq").size === 50 && resume(Effect.void)
          if (!check()) server.hub.listen((e) => e._tag === "Subscription" && check())
        })
        const publisher = yield* connectClient(server)
        const expected = Array.from({ length: 1000 }, (_, i) => i)
        for (const i of expected) publisher.publish("seq", i)
        for (const fiber of fibers) assert.deepStrictEqual(yield* Fiber.join(fiber), expected)
      }),
    { timeout: 60_000 }
  )

  it.live(
    "no subscription outlives its socket: 500 clients subscribe and leave",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        yield* Effect.forEach(
          Array.from({ length: 500 }, (_, i) => i),
          (i) =>
            Effect.scoped(
              Effect.gen(function* () {
                const client = yield* connectClient(server)
                yield* subscribe(client, `room-${i % 50}`)
                yield* subscribe(client, "lobby")
              })
            ),
          { concurrency: 50 }
        )
        // Wait until the server has seen every close.
        yield* Effect.callback<void>((resume) => {
          const check = () => server.clientsCount === 0 && server.pendingClientsCount === 0 && resume(Effect.void)
          if (!check()) server.hub.listen((e) => e._tag === "Closure" && check())
        })
        assert.strictEqual(server.registry.channelCount, 0)
        assert.strictEqual(server.registry.brokerSubscriptionCount, 0)
      }),
    { timeout: 60_000 }
  )

  it.live("unsubscribe stops delivery at once even when the broker confirms later", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      // A broker whose unsubscribe only completes when the test says so.
      const SlowUnsubscribe = Layer.effect(
        Broker,
        Effect.map(BrokerMemory.make, (memory) => ({
          ...memory,
          unsubscribe: (channel: string) => Effect.andThen(Deferred.await(release), memory.unsubscribe(channel))
        }))
      )
      const server = yield* startServer({}, Layer.empty, SlowUnsubscribe)
      const raw = yield* rawClient(server)
      raw.send(handshake)
      yield* raw.waitFor((f) => f.startsWith('{"rid":1'))
      raw.send(JSON.stringify({ event: "#subscribe", data: { channel: "x" }, cid: 2 }))
      yield* raw.waitFor((f) => f === '{"rid":2}')
      raw.send(JSON.stringify({ event: "#unsubscribe", data: "x", cid: 3 }))
      yield* raw.waitFor((f) => f === '{"rid":3}')
      yield* server.exchange.publish("x", "too late")
      // A marker the socket does get proves the publication above was processed first.
      yield* server.clients.values().next().value!.emit("marker", 1)
      yield* raw.waitFor((f) => f.includes("marker"))
      assert.isFalse(raw.frames.some((f) => f.includes("too late")))
      yield* Deferred.succeed(release, undefined)
    })
  )

  it.live("fan-out encodes a publication once for all subscribers", () =>
    Effect.gen(function* () {
      let publishEncodes = 0
      const counting: CodecEngine = {
        decode: json.decode,
        encode: (value) => {
          if (typeof value === "object" && value !== null && (value as { event?: unknown }).event === "#publish") {
            publishEncodes++
          }
          return json.encode(value)
        }
      }
      const server = yield* startServer({}, Codec.layerFrom(counting))
      const clients = yield* Effect.forEach(Array.from({ length: 20 }), () => connectClient(server))
      const fibers = yield* Effect.forEach(clients, (c) =>
        Effect.forkChild(collect(c, "fan", 1), { startImmediately: true })
      )
      yield* Effect.callback<void>((resume) => {
        const check = () => server.registry.subscribers("fan").size === 20 && resume(Effect.void)
        if (!check()) server.hub.listen((e) => e._tag === "Subscription" && check())
      })
      yield* server.exchange.publish("fan", { n: 1 })
      for (const f of fibers) assert.deepStrictEqual(yield* Fiber.join(f), [{ n: 1 }])
      assert.strictEqual(publishEncodes, 1)
    })
  )

  it.live("exchange subscribe: watch a channel as a Stream; the scope unsubscribes", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      const received = yield* Effect.scoped(
        Effect.gen(function* () {
          const channel = yield* server.exchange.subscribe("feed")
          assert.isTrue(server.exchange.isSubscribed("feed"))
          const fiber = yield* channel.messages.pipe(
            Stream.take(2),
            Stream.runCollect,
            Effect.forkChild({ startImmediately: true })
          )
          yield* publish(client, "feed", "from client")
          yield* server.exchange.publish("feed", "from server")
          return yield* Fiber.join(fiber)
        })
      )
      assert.deepStrictEqual(received, ["from client", "from server"])
      assert.isFalse(server.exchange.isSubscribed("feed"))
      assert.strictEqual(server.registry.brokerSubscriptionCount, 0)
    })
  )
})
