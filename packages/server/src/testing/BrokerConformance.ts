/**
 * The broker contract as a reusable test suite. Every broker layer must pass it; run it
 * from your own vitest file:
 *
 * ```ts
 * import { runBrokerConformance } from "@effect-socketcluster/server/testing"
 * runBrokerConformance("MyBroker", MyBroker.layer)
 * ```
 *
 * Deliveries may be asynchronous; the suite waits for them (never sleeps) and proves an
 * absence by publishing a marker on a subscribed channel afterwards: a broker must keep
 * the order of publications from one publisher.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer, Queue, type Scope } from "effect"
import { Broker, type Publication } from "../Broker.js"

const receive = Effect.gen(function* () {
  const broker = yield* Broker
  const inbox = yield* Queue.unbounded<Publication>()
  yield* broker.onPublication((channel, data) => {
    Queue.offerUnsafe(inbox, { channel, data })
  })
  return { broker, inbox }
})

const takeN = (inbox: Queue.Queue<Publication>, n: number) =>
  Effect.gen(function* () {
    const out: Array<Publication> = []
    while (out.length < n) out.push(yield* Queue.take(inbox))
    return out
  }).pipe(Effect.timeout("5 seconds"))

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2)}`

/**
 * Registers the conformance tests for the broker built by `layer` (fresh per test).
 */
export const runBrokerConformance = <E>(name: string, layer: Layer.Layer<Broker, E>): void => {
  describe(`Broker conformance: ${name}`, () => {
    const run = <A, E2>(effect: Effect.Effect<A, E2, Broker | Scope.Scope>) =>
      effect.pipe(Effect.scoped, Effect.provide(layer, { local: true }))

    it.live("becomes ready", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
        })
      )
    )

    it.live("delivers a publication on a subscribed channel exactly once", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("once")
          yield* broker.subscribe(channel)
          yield* broker.publish(channel, { text: "héllo ✓", n: 1, list: [1, null, true] })
          const [first] = yield* takeN(inbox, 1)
          assert.deepStrictEqual(first, { channel, data: { text: "héllo ✓", n: 1, list: [1, null, true] } })
          const marker = unique("marker")
          yield* broker.subscribe(marker)
          yield* broker.publish(marker, "m")
          const [next] = yield* takeN(inbox, 1)
          assert.deepStrictEqual(next, { channel: marker, data: "m" })
        })
      )
    )

    it.live("does not deliver channels that were never subscribed", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const marker = unique("marker")
          yield* broker.subscribe(marker)
          yield* broker.publish(unique("other"), "lost")
          yield* broker.publish(marker, "m")
          const [got] = yield* takeN(inbox, 1)
          assert.deepStrictEqual(got, { channel: marker, data: "m" })
        })
      )
    )

    it.live("stops delivering after unsubscribe", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("unsub")
          const marker = unique("marker")
          yield* broker.subscribe(channel)
          yield* broker.subscribe(marker)
          yield* broker.publish(channel, 1)
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel, data: 1 }])
          yield* broker.unsubscribe(channel)
          yield* broker.publish(channel, 2)
          yield* broker.publish(marker, "m")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel: marker, data: "m" }])
        })
      )
    )

    it.live("keeps publish order on a channel", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("order")
          yield* broker.subscribe(channel)
          for (let i = 0; i < 500; i++) yield* broker.publish(channel, i)
          const got = yield* takeN(inbox, 500)
          assert.deepStrictEqual(
            got.map((p) => p.data),
            Array.from({ length: 500 }, (_, i) => i)
          )
        })
      )
    )

    it.live("keeps channels apart", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const a = unique("a")
          const b = unique("b")
          yield* broker.subscribe(a)
          yield* broker.subscribe(b)
          yield* broker.publish(a, "to-a")
          yield* broker.publish(b, "to-b")
          const got = yield* takeN(inbox, 2)
          assert.deepStrictEqual(got, [
            { channel: a, data: "to-a" },
            { channel: b, data: "to-b" }
          ])
        })
      )
    )

    it.live("subscribing twice is harmless and one unsubscribe ends interest", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("twice")
          const marker = unique("marker")
          yield* broker.subscribe(channel)
          yield* broker.subscribe(channel)
          yield* broker.subscribe(marker)
          yield* broker.publish(channel, "x")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel, data: "x" }])
          yield* broker.unsubscribe(channel)
          yield* broker.publish(channel, "y")
          yield* broker.publish(marker, "m")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel: marker, data: "m" }])
        })
      )
    )

    it.live("stops calling a handler once its scope closes", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
          const channel = unique("scoped")
          const early = yield* Queue.unbounded<unknown>()
          yield* Effect.scoped(
            broker.onPublication((_, data) => {
              Queue.offerUnsafe(early, data)
            })
          )
          const { inbox } = yield* receive
          yield* broker.subscribe(channel)
          yield* broker.publish(channel, "after")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel, data: "after" }])
          assert.strictEqual(yield* Queue.size(early), 0)
        })
      )
    )
  })
}
